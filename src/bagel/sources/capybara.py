"""capybara: multi-turn Amplify-Instruct conversations (``LDJnr/Capybara``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import sharegpt


def convert(row: dict, ctx: ConvertContext) -> dict:
    """Each ``{input, output}`` exchange becomes a human turn then a gpt turn; key = the inputs joined."""
    turns = []
    for exchange in row["conversation"]:
        turns += [{"from": "human", "value": exchange["input"]}, {"from": "gpt", "value": exchange["output"]}]
    return sharegpt(turns)


SOURCE = Source(
    name="capybara",
    kind="sft",
    confidence=2,
    description="Multi-turn dataset used to create the capybara models.",
    license="Apache-2.0",
    # unverified: the data files of the default branch today (CapybaraPure_Decontaminated.jsonl in Dec 2023).
    hub_id="LDJnr/Capybara",
    split="train",
    convert_row=convert,
    dedup="none",
)
