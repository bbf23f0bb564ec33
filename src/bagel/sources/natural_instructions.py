"""natural_instructions: 1600+ tasks of Super-NaturalInstructions (``Muennighoff/natural-instructions``)."""

from bagel.pipeline.convert import STRATUM
from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.shapes import instruction_output


def convert(row: dict, ctx: ConvertContext) -> dict:
    """definition + "\\n" + inputs, answered by targets; the task name is the sampling stratum."""
    rec = instruction_output(row["inputs"], row["targets"], prefix=row["definition"] + "\n")
    rec[STRATUM] = str(row["task_name"])
    return rec


SOURCE = Source(
    name="natural_instructions",
    kind="sft",
    confidence=1,
    description=(
        "Millions of instructions from 1600+ task categories (sampled down substantially, stratified by task type)."
    ),
    license="Apache-2.0",
    # train/, test/ folders of JSON Lines (card: file tree); unverified: file names and row counts.
    hub_id="Muennighoff/natural-instructions",
    split="train",
    convert_row=convert,
    sample=Sample(50_000, stratify="proportional"),
)
