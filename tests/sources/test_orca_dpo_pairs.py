from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "orca_dpo_pairs.jsonl"


def pair(prompt, chosen, rejected):
    return record(
        "dpo",
        id=make_id(prompt),
        source="orca_dpo_pairs",
        confidence=2,
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
    )


def test_question_becomes_the_prompt_and_the_system_column_is_dropped():
    recs, counts = convert_file(registry()["orca_dpo_pairs"], FIXTURE)
    assert recs == [
        pair("Translate to German: Good morning.", "Guten Morgen.", " Sure! Here is the translation: Guten Tag."),
        pair("Is the sentence 'The cat sat.' grammatical? Answer yes or no.", "Yes.", "No."),
    ]
    assert counts == {
        "in": 5,
        "kept": 2,
        "refusal:language model": 1,
        "dpo:identical": 1,
        "malformed:missing_field:rejected": 1,
    }


def test_declaration():
    source = registry()["orca_dpo_pairs"]
    assert (source.hub_id, source.split, source.kind, source.confidence) == ("Intel/orca_dpo_pairs", "train", "dpo", 2)
    assert (source.dedup, source.refusal) == ("none", "chosen")
