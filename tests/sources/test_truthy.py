from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "truthy.parquet"


def pair(prompt, chosen, rejected):
    return record(
        "dpo", id=make_id(prompt), source="truthy-dpo", confidence=2, prompt=prompt, chosen=chosen, rejected=rejected
    )


def test_pairs_as_given_and_the_system_column_is_dropped():
    recs, counts = convert_file(registry()["truthy-dpo"], FIXTURE)
    assert recs == [
        pair(
            "Do we only use 10% of our brains?",
            "No, that is a myth; we use virtually all of the brain.",
            "Yes, only 10% is active.",
        ),
        pair(
            "Can you smell the sea from where you are?",
            "I am an AI and have no sense of smell.",
            "Yes, the sea breeze is lovely today.",
        ),
    ]
    assert counts == {"in": 3, "kept": 2, "malformed:pair_field_not_string": 1}


def test_declaration():
    source = registry()["truthy-dpo"]
    assert (source.hub_id, source.split, source.kind, source.confidence) == (
        "jondurbin/truthy-dpo-v0.1",
        "train",
        "dpo",
        2,
    )
    assert (source.dedup, source.refusal) == ("none", "none")
