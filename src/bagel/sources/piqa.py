"""piqa: physical-interaction questions with two solutions (``ybisk/piqa``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.hub import PARQUET_EXPORT
from bagel.sources.shapes import multiple_choice


def convert(row: dict, ctx: ConvertContext) -> dict:
    """goal + A./B. solutions; with probability 0.25 ask for the letter only."""
    label = int(row["label"])
    if label not in (0, 1):
        raise ValueError("label")
    choices = [("A", row["sol1"]), ("B", row["sol2"])]
    letter_only = ctx.uniform("letter_only", row["goal"]) < ctx.options["letter_only_probability"]
    return multiple_choice(row["goal"], choices, "AB"[label], letter_only=letter_only, answer_sep=". ")


SOURCE = Source(
    name="piqa",
    kind="sft",
    confidence=3,
    description="Physical interaction question answering.",
    license="AFL-3.0",
    # The default branch is a loading script (piqa.py), which datasets >= 4 refuses: read the hub's parquet
    # conversion instead, where the config is `default` (used so by public code; unverified: the branch's
    # file layout and that it keeps a train split of 16,113 rows).
    hub_id="ybisk/piqa",
    revision=PARQUET_EXPORT,
    hub_config="default",
    split="train",
    convert_row=convert,
    options={"letter_only_probability": 0.25},
)
