"""squad_v2: reading comprehension with unanswerable questions (``rajpurkar/squad_v2``)."""

from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.shapes import passage_question

DONT_KNOW = (
    "IRRELEVANT",
    "DO NOT KNOW",
    "SKIP",
    "I don't know.",
    "The passage does not appear to provide an answer to the question.",
)


def convert(row: dict, ctx: ConvertContext) -> dict:
    """The squad_v2 template around context and question, with a "don't know" phrase drawn per row.

    The phrase is drawn uniformly from ``options["dont_know"]`` (keyed by the row's ``id``);
    the answer is the first answer text, or that phrase when the question is unanswerable.
    """
    phrases = ctx.options["dont_know"]
    dont_know = phrases[int(ctx.uniform("dont_know", row["id"]) * len(phrases))]
    header = (
        "Read the passage of text provided below, then concisely answer the question.  "
        f'If you don\'t know, respond with "{dont_know}"'
    )
    answers = row["answers"]["text"]
    return passage_question(row["context"], row["question"], answers[0] if answers else dont_know, header=header)


SOURCE = Source(
    name="squad_v2",
    kind="sft",
    confidence=3,
    description="Contextual question answering (RAG).",
    license="CC-BY-SA-4.0",
    # Parquet on the default branch (squad_v2/train-00000-of-00001.parquet, read so by public code).
    hub_id="rajpurkar/squad_v2",
    hub_config="squad_v2",
    split="train",
    convert_row=convert,
    sample=Sample(25_000),
    options={"dont_know": list(DONT_KNOW)},
)
