"""mathinstruct: math problems with chain-of-thought or program answers (``TIGER-Lab/MathInstruct``)."""

from bagel.pipeline.convert import STRATUM
from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.shapes import instruction_output


def convert(row: dict, ctx: ConvertContext) -> dict:
    """instruction answered by output; the row's ``source`` file is the sampling stratum."""
    rec = instruction_output(row["instruction"], row["output"])
    rec[STRATUM] = str(row["source"])
    return rec


SOURCE = Source(
    name="mathinstruct",
    kind="sft",
    confidence=3,
    description="Composite dataset with a variety of math-related tasks and problem/question formats.",
    license="MIT",
    # One file, MathInstruct.json (viewer).
    hub_id="TIGER-Lab/MathInstruct",
    split="train",
    convert_row=convert,
    sample=Sample(50_000, stratify="proportional"),
)
