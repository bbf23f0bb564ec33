"""drop: discrete reasoning over paragraphs (``ucinlp/drop``)."""

from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.shapes import passage_question

SYSTEM = "You are a helpful assistant who answers as briefly as possible."


def convert(row: dict, ctx: ConvertContext) -> dict:
    """passage and question joined by "\\n" (question first with probability 0.5); answer = spans joined by ", "."""
    reverse = ctx.uniform("reverse", row["query_id"]) < ctx.options["reverse_probability"]
    answer = ", ".join(row["answers_spans"]["spans"])
    return passage_question(row["passage"], row["question"], answer, reverse=reverse, system=ctx.options["system"])


SOURCE = Source(
    name="drop",
    kind="sft",
    confidence=2,
    description="More reading comprehension.",
    license="CC-BY-SA-4.0",
    # Parquet on the default branch (data/train-00000-of-00001.parquet, read so by public code), one config.
    hub_id="ucinlp/drop",
    split="train",
    convert_row=convert,
    sample=Sample(5_000),
    options={"reverse_probability": 0.5, "system": SYSTEM},
)
