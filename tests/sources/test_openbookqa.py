from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "openbookqa.parquet"
SUN = (
    "The sun is responsible for\nA. puppies learning new tricks\nB. children growing up and getting old\n"
    "C. flowers wilting in a vase\nD. plants sprouting, blooming and wilting"
)


def row(instruction, answer):
    turns = [{"from": "human", "value": instruction}, {"from": "gpt", "value": answer}]
    return record("sft", id=make_id(instruction), source="openbookqa", confidence=3, conversations=turns)


def test_full_answer():
    recs, counts = convert_file(registry()["openbookqa"], FIXTURE, options={"letter_only_probability": 0.0})
    assert recs == [row(SUN, "D plants sprouting, blooming and wilting")]
    assert counts == {"in": 2, "kept": 1, "malformed:wrong_type": 1}


def test_letter_only_answer():
    recs, _ = convert_file(registry()["openbookqa"], FIXTURE, options={"letter_only_probability": 1.0})
    assert recs == [row(SUN + "\nOnly output the the letter of the correct answer.", "D")]
