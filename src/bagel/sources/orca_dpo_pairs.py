"""orca_dpo_pairs: ChatGPT vs Llama-2-13B-chat answers to SlimOrca prompts (``Intel/orca_dpo_pairs``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import preference_pair


def convert(row: dict, ctx: ConvertContext) -> dict:
    """prompt = question (the system column is dropped); chosen/rejected as given."""
    return preference_pair(row["question"], row["chosen"], row["rejected"])


SOURCE = Source(
    name="orca_dpo_pairs",
    kind="dpo",
    confidence=2,
    description=(
        "Another interesting dataset by Intel, which provides various DPO pairs generated from prompts "
        "included in the SlimOrca dataset."
    ),
    license="Apache-2.0",
    # One file, orca_rlhf.jsonl (viewer).
    hub_id="Intel/orca_dpo_pairs",
    split="train",
    convert_row=convert,
    dedup="none",
    refusal="chosen",
)
