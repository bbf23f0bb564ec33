"""spider: text-to-SQL questions (``xlangai/spider``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import instruction_output


def convert(row: dict, ctx: ConvertContext) -> dict:
    """"Write a SQL query for the following:\\n" + question, answered by the query."""
    return instruction_output(row["question"], row["query"], prefix="Write a SQL query for the following:\n")


SOURCE = Source(
    name="spider",
    kind="sft",
    confidence=1,
    description="SQL-targeted dataset.",
    license="CC-BY-SA-4.0",
    # Parquet on the default branch (spider/train-00000-of-00001.parquet, read so by public code).
    hub_id="xlangai/spider",
    hub_config="spider",
    split="train",
    convert_row=convert,
)
