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
    hub_id="spider",
    split="train",
    convert_row=convert,
)
