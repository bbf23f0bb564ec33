"""slimorca: ~500k GPT-4 verified OpenOrca chats (``Open-Orca/SlimOrca``)."""

from bagel.sources.base import ConvertContext, Sample, Source
from bagel.sources.shapes import sharegpt


def convert(row: dict, ctx: ConvertContext) -> dict:
    """The ShareGPT chat as it is (``from``/``value`` only); the id is the human turns joined."""
    return sharegpt(row["conversations"])


SOURCE = Source(
    name="slimorca",
    kind="sft",
    confidence=2,
    description="Collection of ~500k gpt-4 verified chats from OpenOrca.",
    license="MIT",
    # One file, oo-labeled_correct.gpt4.sharegpt.jsonl (viewer).
    hub_id="Open-Orca/SlimOrca",
    split="train",
    convert_row=convert,
    refusal="all_turns",
    sample=Sample(100_000, stage="before_dedup"),
)
