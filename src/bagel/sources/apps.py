"""apps: Python programming problems with solutions (``codeparrot/apps``, ``all`` of its parquet conversion)."""

import json

from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.hub import PARQUET_EXPORT
from bagel.sources.humaneval_filter import skip_if_humaneval
from bagel.sources.shapes import instruction_output

PREFIX = "Provide a python solution to the following:\n"


def convert(row: dict, ctx: ConvertContext) -> dict:
    """The question with a "Provide a python solution" prefix, answered by the first solution.

    Problems without a solution are skipped (``no_solution``); so are solutions that contain,
    or are contained in, a HumanEval canonical solution.
    """
    solutions = json.loads(row["solutions"]) if row["solutions"] else []
    if not solutions:
        raise Skip("no_solution")
    solution = solutions[0]
    if not isinstance(solution, str):
        raise TypeError("solution is not a string")
    skip_if_humaneval(solution, ctx.humaneval_solutions)
    return instruction_output(row["question"], solution, prefix=PREFIX)


SOURCE = Source(
    name="apps",
    kind="sft",
    confidence=2,
    description="Python coding dataset with 10k problems.",
    license="MIT",
    # The default branch is a loading script (apps.py): read the hub's parquet conversion. There the four
    # script configs are folders of one `default` config (all/, introductory/, interview/, competition/ —
    # the last three repeat `all`), so only all/train is read (layout as public code reads it; unverified:
    # the shard names).
    hub_id="codeparrot/apps",
    revision=PARQUET_EXPORT,
    split="train",
    data_files=("all/train/*.parquet",),
    convert_row=convert,
)
