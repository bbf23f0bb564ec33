from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "capybara.jsonl"


def test_exchanges_become_turns_and_key_is_all_inputs():
    recs, counts = convert_file(registry()["capybara"], FIXTURE)
    turns = [
        {"from": "human", "value": "What is the capital of France?"},
        {"from": "gpt", "value": "Paris."},
        {"from": "human", "value": "And its population?"},
        {"from": "gpt", "value": "About 2.1 million people live in Paris proper."},
    ]
    key = "What is the capital of France?\nAnd its population?"
    assert recs[0] == record("sft", id=make_id(key), source="capybara", confidence=2, conversations=turns)
    assert recs[1]["id"] == make_id("Name a prime number.")
    assert counts == {"in": 3, "kept": 2, "malformed:missing_field:output": 1}
    assert registry()["capybara"].dedup == "none"
