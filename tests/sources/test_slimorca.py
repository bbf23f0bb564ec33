from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "slimorca.jsonl"
SYSTEM = "You are an AI assistant that follows instruction extremely well. Help as much as you can."


def test_sharegpt_kept_with_from_value_only_and_human_turns_as_key():
    recs, counts = convert_file(registry()["slimorca"], FIXTURE)
    question = "Answer the following question: what is the largest planet?"
    assert recs == [
        record(
            "sft",
            id=make_id(question),
            source="slimorca",
            confidence=2,
            system=SYSTEM,
            conversations=[
                {"from": "system", "value": SYSTEM},
                {"from": "human", "value": question},
                {"from": "gpt", "value": "The largest planet in the Solar System is Jupiter."},
            ],
        ),
        record(
            "sft",
            id=make_id("Translate 'cat' to Spanish."),
            source="slimorca",
            confidence=2,
            conversations=[
                {"from": "human", "value": "Translate 'cat' to Spanish."},
                {"from": "gpt", "value": "Gato."},
            ],
        ),
    ]
    assert counts == {"in": 4, "kept": 2, "refusal:openai": 1, "malformed:missing_field:value": 1}


def test_declaration():
    source = registry()["slimorca"]
    assert (source.hub_id, source.split, source.confidence) == ("Open-Orca/SlimOrca", "train", 2)
    assert (source.refusal, source.sample) == ("all_turns", Sample(100_000, stage="before_dedup"))
