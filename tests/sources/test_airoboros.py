from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
OPTIONS = {"older_path": str(FIXTURES / "airoboros.older.jsonl")}
SYSTEM = {"from": "system", "value": "A chat."}


def chat(category, *values, **pair):
    turns = [SYSTEM] + [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)]
    key = "\n".join(["A chat.", *values[::2]])
    kind = "dpo" if pair else "sft"
    system = None if pair else "A chat."  # a rewrite pair's prompt carries no system prompt
    return record(
        kind, id=make_id(key), source=f"airoboros_{category}", confidence=1, conversations=turns, system=system, **pair
    )


def test_sft_rows_and_rewrite_pairs():
    recs, counts = convert_file(registry()["airoboros"], FIXTURES / "airoboros.json", options=OPTIONS)
    haiku = "Cold rain on maples,\nred leaves drift down the gutter,\nthe street smells of earth."
    assert recs == [
        # rewritten and longer than the m2.0 response (matched lower-cased and stripped): one dpo record
        # that keeps its conversations
        chat(
            "writing",
            "Write a haiku about autumn rain.",
            haiku,
            prompt="Write a haiku about autumn rain.",
            chosen=haiku,
            rejected="Rain falls. Leaves fall.",
        ),
        chat("roleplay", "Pretend to be a pirate greeting me.", "Ahoy!"),  # shorter than the old response: sft only
        chat("general", "What is 2 + 2?", "4", "And times 3?", "12"),  # not a rewrite category
        chat("writing", "Write a limerick about a cat.", "There once was a cat named Lou..."),  # no older match
    ]
    assert counts == {"in": 5, "kept": 4, "older:malformed": 1, "malformed:missing_field:category": 1}


def test_declaration():
    source = registry()["airoboros"]
    assert (source.kind, source.hub_id, source.data_files, source.dedup) == (
        "sft+dpo",
        "unalignment/spicy-3.1",
        ("conversations-no-mathjson.json",),
        "check_add",
    )
