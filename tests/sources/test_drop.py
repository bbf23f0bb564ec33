from pathlib import Path

import pytest

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "drop.parquet"
SYSTEM = "You are a helpful assistant who answers as briefly as possible."
PASSAGE = (
    "Hoping to rebound from their loss to the Patriots, the Raiders stayed at home for a Week 16 duel with the "
    "Houston Texans. Oakland scored first with a 41-yard field goal by Sebastian Janikowski and a 3-yard run."
)


def row(instruction, answer):
    turns = [{"from": "system", "value": SYSTEM}, {"from": "human", "value": instruction}, {"from": "gpt", "value": answer}]
    return record("sft", id=make_id(instruction), source="drop", confidence=2, conversations=turns, system=SYSTEM)


@pytest.mark.parametrize(
    ("probability", "join"),
    [(0.0, lambda q: PASSAGE + "\n" + q), (1.0, lambda q: q + "\n" + PASSAGE)],
)
def test_order_spans_and_system_prompt_outside_the_key(probability, join):
    recs, counts = convert_file(registry()["drop"], FIXTURE, options={"reverse_probability": probability})
    assert recs == [
        row(join("Who kicked the field goal?"), "Sebastian Janikowski"),
        row(join("Which teams played?"), "Raiders, Houston Texans"),
    ]
    assert counts == {"in": 3, "kept": 2, "malformed:wrong_type": 1}
    assert registry()["drop"].sample.n == 5_000
