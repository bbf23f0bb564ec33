"""rosetta_code: rosettacode.org tasks solved in many languages (``cakiki/rosetta-code``)."""

from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.humaneval_filter import skip_if_humaneval
from bagel.sources.shapes import instruction_output


def convert(row: dict, ctx: ConvertContext) -> dict:
    """ "Create a solution in <language_name> to the following:\\n" + task_description, answered by code.

    Code overlapping a HumanEval solution is dropped.
    """
    prefix = "Create a solution in " + row["language_name"] + " to the following:\n"
    rec = instruction_output(row["task_description"], row["code"], prefix=prefix)
    skip_if_humaneval(row["code"], ctx.humaneval_solutions)
    return rec


SOURCE = Source(
    name="rosetta_code",
    kind="sft",
    confidence=2,
    description="Code problems and solutions in a variety of programming languages taken from rosettacode.org.",
    license="GFDL-1.2",
    # Parquet data/train-* (card).
    hub_id="cakiki/rosetta-code",
    split="train",
    convert_row=convert,
    sample=Sample(25_000),
)
