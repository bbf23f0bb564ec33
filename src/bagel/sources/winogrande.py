"""winogrande: fill-in-the-blank commonsense sentences (``allenai/winogrande``, ``winogrande_xl``)."""

from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.shapes import instruction_output


def convert(row: dict, ctx: ConvertContext) -> dict:
    """The sentence, answered by option1 when ``answer`` is "1", else by option2."""
    answer = row["option1"] if str(row["answer"]) == "1" else row["option2"]
    return instruction_output(row["sentence"], answer)


SOURCE = Source(
    name="winogrande",
    kind="sft",
    confidence=3,
    description="Fill in the blank style prompts.",
    license="CC-BY",
    # Parquet on the default branch (card YAML: config winogrande_xl, data_files winogrande_xl/train-*).
    hub_id="allenai/winogrande",
    hub_config="winogrande_xl",
    split="train",
    convert_row=convert,
    sample=Sample(10_000),
)
