from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "apps.parquet"


def test_first_solution_and_humaneval_filter():
    recs, counts = convert_file(registry()["apps"], FIXTURE)
    instruction = "Provide a python solution to the following:\nPrint the sum of two integers a and b."
    turns = [
        {"from": "human", "value": instruction},
        {"from": "gpt", "value": "a, b = map(int, input().split())\nprint(a + b)\n"},
    ]
    assert recs == [record("sft", id=make_id(instruction), source="apps", confidence=2, conversations=turns)]
    assert counts == {"in": 4, "kept": 1, "humaneval_solution": 1, "no_solution": 1, "malformed:bad_value": 1}
