"""ultrafeedback: binarized, cleaned UltraFeedback preference pairs (``allenai/ultrafeedback_binarized_cleaned``)."""

from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.shapes import preference_pair


def convert(row: dict, ctx: ConvertContext) -> dict:
    """prompt = ``prompt``; chosen/rejected = the content of message 1 of each; id = the user message.

    Skips rows with ``score_chosen`` below ``options["min_score_chosen"]``, a chosen that is
    not [user, assistant] with a non-blank answer, or answers equal up to case and surrounding
    whitespace.
    """
    minimum = ctx.options["min_score_chosen"]
    if row["score_chosen"] < minimum:
        raise Skip(f"score_below_{minimum:g}")
    chosen, rejected = row["chosen"], row["rejected"]
    if len(chosen) != 2 or chosen[1]["role"] != "assistant":
        raise Skip("chosen_not_user_assistant")
    answer, other = chosen[1]["content"], rejected[1]["content"]
    if not answer.strip():
        raise Skip("empty_chosen")
    return preference_pair(row["prompt"], answer, other, key_text=chosen[0]["content"])


SOURCE = Source(
    name="ultrafeedback",
    kind="dpo",
    confidence=2,
    description=(
        "One of the bits of magic behind the Zephyr model. "
        "Only the items with a chosen score of 8 or higher were included."
    ),
    license="MIT",
    # Parquet data/<split>-* (card*); unverified: the exact file names.
    hub_id="allenai/ultrafeedback_binarized_cleaned",
    split="train_gen",
    convert_row=convert,
    refusal="chosen",
    options={"min_score_chosen": 8},
)
