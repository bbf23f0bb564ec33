"""python_alpaca: Python instruction/response pairs, tested as functional (``Vezora/Tested-22k-Python-Alpaca``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.humaneval_filter import skip_if_humaneval
from bagel.sources.shapes import instruction_output


def convert(row: dict, ctx: ConvertContext) -> dict:
    """instruction answered by output; outputs overlapping a HumanEval solution are dropped."""
    rec = instruction_output(row["instruction"], row["output"])
    skip_if_humaneval(row["output"], ctx.humaneval_solutions)
    return rec


SOURCE = Source(
    name="python_alpaca",
    kind="sft",
    confidence=1,
    description="Python instruction response pairs, validated as functional.",
    license="Apache-2.0",
    # One file, 188k-Vezora-PyCode-Alpaca.json (card: file tree); unverified: its row count.
    hub_id="Vezora/Tested-22k-Python-Alpaca",
    split="train",
    convert_row=convert,
    refusal="responses",
)
