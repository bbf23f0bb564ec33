from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import single_turn
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "python_alpaca.json"


def test_instruction_output_without_humaneval_solutions_or_refusals():
    recs, counts = convert_file(registry()["python_alpaca"], FIXTURE)
    expected = single_turn(
        "Write a Python function that reverses a string.", "def reverse(text):\n    return text[::-1]\n"
    )
    assert recs == [{**expected, "source": "python_alpaca", "confidence": 1}]
    assert counts == {
        "in": 4,
        "kept": 1,
        "humaneval_solution": 1,  # contains HumanEval/23's `    return len(string)`
        "refusal:language model": 1,
        "malformed:instruction_or_output_not_string": 1,
    }


def test_declaration():
    source = registry()["python_alpaca"]
    assert (source.hub_id, source.split, source.confidence) == ("Vezora/Tested-22k-Python-Alpaca", "train", 1)
    assert (source.dedup, source.refusal, source.sample) == ("check_add", "responses", None)
