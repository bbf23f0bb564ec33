from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "cinematika"


def sft(instruction, answer):
    turns = [{"from": "human", "value": instruction}, {"from": "gpt", "value": answer}]
    return record("sft", id=make_id(instruction), source="cinematika", confidence=3, conversations=turns)


def text(raw, body):
    return record("text", id=make_id(raw), source="cinematika", confidence=3, text=body)


def test_instruction_files_scenes_and_plain_scene_chunks():
    # token counts (words * 1.3, rounded) in index order: 4 + 10 > 5 | 5, then + 4 > 5 | 3 (short tail, dropped)
    recs, counts = convert_file(registry()["cinematika"], FIXTURE, options={"max_tokens": 5})
    raw_scene = "[scene] INT. LIGHTHOUSE - NIGHT\n[scene]  Silas climbs the stairs."
    assert recs == [
        sft("Create a character card for a grumpy lighthouse keeper.", "Name: Silas Crane\nAge: 67"),
        sft("Silas: Get off my rocks!\nMira: I'm lost.", "Name: Mira\nPersonality: curious"),
        text(raw_scene, "INT. LIGHTHOUSE - NIGHT\nSilas climbs the stairs."),
        sft("Summarize: INT. LIGHTHOUSE - NIGHT. Silas lights the lamp.", "Silas lights the lamp."),
        text("\n[scene] one two\na b c d e f g h", "\none two\na b c d e f g h"),
        text("\nthree four five six\nx y z", "\nthree four five six\nx y z"),
    ]
    assert counts == {
        "in": 12,
        "kept": 6,
        "duplicate_text": 1,  # the second, identical scene_by_scene row
        "malformed:instruction_or_output_not_string": 1,  # scene_enhancement output is null
        "malformed:wrong_type": 1,  # a plain scene without index
        "plain_scene_merged": 2,
        "plain_scenes_short_tail": 1,
    }


def test_default_budget_keeps_everything_in_the_short_tail():
    recs, counts = convert_file(registry()["cinematika"], FIXTURE)
    assert [rec["kind"] for rec in recs] == ["sft", "sft", "text", "sft"]
    assert counts["plain_scenes_short_tail"] == 5
