from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "mmlu.parquet"
DEGREE = "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\nA. 0\nB. 4\nC. 2\nD. 6"
INDEX = "Let p = (1, 2, 5, 4)(2, 3) in S_5 . Find the index of <p> in S_5.\nA. 8\nB. 2\nC. 24\nD. 120"
COUNTS = {"in": 4, "kept": 2, "too_many_choices": 1, "malformed:wrong_type": 1}


def row(instruction, answer):
    turns = [{"from": "human", "value": instruction}, {"from": "gpt", "value": answer}]
    return record("sft", id=make_id(instruction), source="mmlu", confidence=3, conversations=turns)


def test_letter_and_choice_text():
    recs, counts = convert_file(registry()["mmlu"], FIXTURE, options={"letter_only_probability": 0.0})
    assert recs == [row(DEGREE, "B 4"), row(INDEX, "C 24")]
    assert counts == COUNTS


def test_letter_only_hint_goes_first():
    recs, counts = convert_file(registry()["mmlu"], FIXTURE, options={"letter_only_probability": 1.0})
    hint = "Answer with only the letter of the answer.\n"
    assert recs == [row(hint + DEGREE, "B"), row(hint + INDEX, "C")]
    assert counts == COUNTS


def test_declaration():
    source = registry()["mmlu"]
    assert (source.hub_id, source.hub_config, source.split, source.sample) == (
        "cais/mmlu",
        "all",
        "auxiliary_train",
        Sample(20_000),
    )
