"""boolq: yes/no questions about a Wikipedia passage (``google/boolq``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import passage_question

HEADER = "Read the passage of text provided below, then answer the question."


def convert(row: dict, ctx: ConvertContext) -> dict:
    """Header, passage, then "True or false - " + question; answered ``true`` or ``false``."""
    answer = row["answer"]
    if not isinstance(answer, bool):
        raise TypeError("answer is not a bool")
    return passage_question(row["passage"], "True or false - " + row["question"], str(answer).lower(), header=HEADER)


SOURCE = Source(
    name="boolq",
    kind="sft",
    confidence=3,
    description="Corpus of yes/no questions (which can be surprisingly difficult for AI to answer apparently?)",
    license="CC-BY-SA-3.0",
    # Parquet on the default branch (data/train-00000-of-00001.parquet, read so by public code), one config.
    hub_id="google/boolq",
    split="train",
    convert_row=convert,
)
