"""openbookqa: open-book elementary science questions (``allenai/openbookqa``, config ``main``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import labeled_choices, multiple_choice


def convert(row: dict, ctx: ConvertContext) -> dict:
    """Like ai2_arc, with ``question_stem``: lettered choices, letter-only with probability 0.5."""
    letter_only = ctx.uniform("letter_only", row["id"]) < ctx.options["letter_only_probability"]
    return multiple_choice(
        row["question_stem"], labeled_choices(row["choices"]), row["answerKey"], letter_only=letter_only
    )


SOURCE = Source(
    name="openbookqa",
    kind="sft",
    confidence=3,
    description="Question answering dataset.",
    license="Apache-2.0",
    # Parquet on the default branch (main/train-00000-of-00001.parquet, read so by public code).
    hub_id="allenai/openbookqa",
    hub_config="main",
    split="train",
    convert_row=convert,
    options={"letter_only_probability": 0.5},
)
