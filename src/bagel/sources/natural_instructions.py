"""natural_instructions: 1600+ tasks of Super-NaturalInstructions (``Muennighoff/natural-instructions``).

Two layouts are read, from the hub or from local files:

- hub rows (``Muennighoff/natural-instructions``): ``task_name``, ``definition``, ``inputs``,
  ``targets``, one row per instance;
- task files of the allenai/natural-instructions repository (``tasks/<task>.json``): one JSON
  object per task with ``Definition`` (a list of strings in the final v2 files, a string in
  earlier ones), ``Positive Examples``, ``Negative Examples`` and ``Instances`` (``{id?, input,
  output: [strings]}``). Each instance becomes one row of the hub layout: definition = the
  ``Definition`` string, or its first item (as Tk-Instruct reads it); inputs = ``input``; targets
  = the first ``output``; task name = the file's name without ``.json``. The examples are not
  used (the hub rows carry none). A bad instance counts as malformed alone, not its whole task.

Either way the record is definition + "\\n" + inputs answered by targets, and the task name
is the sampling stratum.
"""

from pathlib import PurePath

from bagel.records import STRATUM
from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.io import FILE
from bagel.sources.shapes import instruction_output


def convert_hub_row(row: dict, ctx: ConvertContext) -> dict:
    """definition + "\\n" + inputs, answered by targets; the task name is the sampling stratum."""
    rec = instruction_output(row["inputs"], row["targets"], prefix=row["definition"] + "\n")
    rec[STRATUM] = str(row["task_name"])
    return rec


def task_rows(task: dict) -> list[dict]:
    """The instances of a repository task file as rows of the hub layout (see the module docstring)."""
    definition = task["Definition"] if isinstance(task["Definition"], str) else task["Definition"][0]
    task_name = PurePath(task[FILE]).name.removesuffix(".gz").removesuffix(".json")
    return [{"task_name": task_name, "definition": definition, "instance": instance}
            for instance in task["Instances"]]


def convert_instance(row: dict, ctx: ConvertContext) -> dict:
    """One instance of a task file: its input, answered by its first output."""
    instance = row["instance"]
    return convert_hub_row({**row, "inputs": instance["input"], "targets": instance["output"][0]}, ctx)


def convert(row: dict, ctx: ConvertContext) -> dict | list[dict]:
    """A hub row (one record), or a whole task file (one record per instance, each counted alone)."""
    if "Instances" in row:
        return list(ctx.each(task_rows(row), convert_instance))
    return convert_hub_row(row, ctx)


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
