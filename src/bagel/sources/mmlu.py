"""mmlu: Massive Multitask Language Understanding, auxiliary train split (``cais/mmlu``, config ``all``)."""

from bagel.sources.base import ConvertContext, Sample, Skip, Source
from bagel.sources.shapes import multiple_choice

LETTERS = "ABCDEFG"
LETTER_ONLY_HINT = "Answer with only the letter of the answer.\n"


def convert(row: dict, ctx: ConvertContext) -> dict:
    """question + A.-G. choices; with probability 0.5 the hint goes first and the answer is the letter only."""
    choices = row["choices"]
    if len(choices) > len(LETTERS):
        raise Skip("too_many_choices")
    lettered = list(zip(LETTERS, choices))
    letter_only = ctx.uniform("letter_only", row["question"]) < ctx.options["letter_only_probability"]
    return multiple_choice(
        row["question"],
        lettered,
        LETTERS[row["answer"]],
        letter_only=letter_only,
        hint=LETTER_ONLY_HINT,
        hint_first=True,
    )


SOURCE = Source(
    name="mmlu",
    kind="sft",
    confidence=3,
    description="Massive Multitask Language Understanding - a wide variety of questions about various subject matters.",
    license="MIT",
    # Parquet on the default branch, all/auxiliary_train-* (card).
    hub_id="cais/mmlu",
    hub_config="all",
    split="auxiliary_train",
    convert_row=convert,
    sample=Sample(20_000),
    options={"letter_only_probability": 0.5},
)
