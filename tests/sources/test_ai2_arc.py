from pathlib import Path

import pytest

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "ai2_arc.parquet"
OAK = (
    "One year, the oak trees in a park began producing more acorns than usual. The next year, the population "
    "of chipmunks in the park also increased. Which best explains why there were more chipmunks the next year?\n"
    "A. Shady areas increased.\nB. Food sources increased.\nC. Oxygen levels increased.\nD. Available water increased."
)
ROCK = "Which unit is used to measure the mass of a rock?\n1. meter\n2. gram\n3. liter"
HINT = "\nOnly output the the letter of the correct answer."


def row(instruction, answer):
    turns = [{"from": "human", "value": instruction}, {"from": "gpt", "value": answer}]
    return record("sft", id=make_id(instruction), source="ai2_arc", confidence=3, conversations=turns)


@pytest.mark.parametrize(
    ("probability", "expected"),
    [
        (0.0, [row(OAK, "B Food sources increased."), row(ROCK, "2 gram")]),
        (1.0, [row(OAK + HINT, "B"), row(ROCK + HINT, "2")]),
    ],
)
def test_letter_only_and_full_answers(probability, expected):
    recs, counts = convert_file(registry()["ai2_arc"], FIXTURE, options={"letter_only_probability": probability})
    assert recs == expected
    assert counts == {"in": 4, "kept": 2, "malformed:answer_not_in_choices": 1, "malformed:wrong_type": 1}


def test_default_coin_is_per_item_and_reproducible():
    first, _ = convert_file(registry()["ai2_arc"], FIXTURE)
    again, _ = convert_file(registry()["ai2_arc"], FIXTURE)
    assert first == again
    assert [rec["conversations"][1]["value"] for rec in first] == ["B", "2 gram"]
