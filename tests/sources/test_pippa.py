from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "pippa.jsonl"


def chat(row_id, *turns):
    conversations = [{"from": role, "value": value} for role, value in turns]
    return record("sft", id=row_id, source="pippa", confidence=1, conversations=conversations, system=turns[0][1])


LUNA = chat(
    "pippa-1",
    ("system", "First message: *waves* Welcome to the library!"),
    ("human", "Do you have books about stars?"),
    ("gpt", "Of course, follow me to the astronomy shelf."),
)
REX = chat(
    "pippa-2",
    ("system", "Rex is a grumpy pirate."),
    ("human", "Ahoy, captain!"),
    ("gpt", "What do ye want, landlubber?"),
)
DROPS = {
    "starts_with_gpt": 1,
    "too_few_turns": 1,
    # the refusal is in the system prompt that folding replaces: checked before folding
    "refusal:language model": 1,
    "malformed:missing_field:conversations": 1,
}


def test_folds_the_first_gpt_message_into_the_system_prompt():
    recs, counts = convert_file(registry()["pippa"], FIXTURE, options={"keep_probability": 1.0})
    assert recs == [LUNA, REX]
    assert counts == {"in": 6, "kept": 2, **DROPS}


def test_keep_coin_is_per_row_id():
    recs, counts = convert_file(registry()["pippa"], FIXTURE)
    assert recs == [REX]
    assert counts == {"in": 6, "kept": 1, "not_kept_by_coin": 1, **DROPS}
    recs, counts = convert_file(registry()["pippa"], FIXTURE, options={"keep_probability": 0.0})
    assert recs == [] and counts["not_kept_by_coin"] == 2


def test_declaration():
    source = registry()["pippa"]
    assert (source.hub_id, source.data_files, source.confidence) == (
        "kingbri/PIPPA-shareGPT",
        ("pippa_sharegpt_trimmed.jsonl",),
        1,
    )
    assert (source.dedup, source.refusal, source.refusal_stage) == ("none", "all_turns", "rows")
    assert source.options == {"min_turns": 3, "keep_probability": 0.5}
