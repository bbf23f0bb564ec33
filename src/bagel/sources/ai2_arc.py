"""ai2_arc: ARC-Challenge grade-school science questions (``allenai/ai2_arc``, config ``ARC-Challenge``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import labeled_choices, multiple_choice


def convert(row: dict, ctx: ConvertContext) -> dict:
    """question + lettered choices; with probability 0.5 ask for the letter only, else answer "<key> <text>"."""
    letter_only = ctx.uniform("letter_only", row["id"]) < ctx.options["letter_only_probability"]
    return multiple_choice(row["question"], labeled_choices(row["choices"]), row["answerKey"], letter_only=letter_only)


SOURCE = Source(
    name="ai2_arc",
    kind="sft",
    confidence=3,
    description="Abstraction and reasoning dataset, useful in measuring \"intelligence\" to a certain extent.",
    license="CC-BY-SA-4.0",
    # Parquet on the default branch (ARC-Challenge/train-00000-of-00001.parquet, read so by public code);
    # the legacy id `ai2_arc` redirects here.
    hub_id="allenai/ai2_arc",
    hub_config="ARC-Challenge",
    split="train",
    convert_row=convert,
    options={"letter_only_probability": 0.5},
)
