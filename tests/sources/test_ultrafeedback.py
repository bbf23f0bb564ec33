from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "ultrafeedback.parquet"


def pair(prompt, chosen, rejected):
    return record(
        "dpo", id=make_id(prompt), source="ultrafeedback", confidence=2, prompt=prompt, chosen=chosen, rejected=rejected
    )


DRAWING = pair(
    "how can i develop a habit of drawing daily",
    "Set a fixed time each day, start with five minutes, and keep a sketchbook with you.",
    "Just draw.",
)


def test_keeps_scores_of_8_and_up_with_a_distinct_assistant_answer():
    recs, counts = convert_file(registry()["ultrafeedback"], FIXTURE)
    assert recs == [DRAWING]
    assert counts == {
        "in": 7,
        "kept": 1,
        "score_below_8": 1,
        "chosen_not_user_assistant": 1,
        "dpo:identical": 1,  # "Four." vs "  four. "
        "refusal:language model": 1,
        "empty_chosen": 1,
        "malformed:wrong_type": 1,  # null score
    }


def test_score_cut_off_is_an_option():
    recs, counts = convert_file(registry()["ultrafeedback"], FIXTURE, options={"min_score_chosen": 7})
    assert recs == [DRAWING, pair("Name three primary colors.", "Red, yellow and blue.", "Green.")]
    assert "score_below_7" not in counts and counts["kept"] == 2


def test_declaration():
    source = registry()["ultrafeedback"]
    assert (source.hub_id, source.split) == ("allenai/ultrafeedback_binarized_cleaned", "train_gen")
    assert (source.kind, source.confidence, source.dedup, source.refusal) == ("dpo", 2, "check_add", "chosen")
