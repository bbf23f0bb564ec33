"""truthy: preference pairs for truthfulness and corporeal awareness (``jondurbin/truthy-dpo-v0.1``)."""

from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import preference_pair


def convert(row: dict, ctx: ConvertContext) -> dict:
    """prompt/chosen/rejected as given (the system column is dropped)."""
    return preference_pair(row["prompt"], row["chosen"], row["rejected"])


SOURCE = Source(
    name="truthy-dpo",
    kind="dpo",
    confidence=2,
    description=(
        "DPO pairs meant to increase truthfulness of the model, e.g. common misconceptions, differentiate "
        "between AI assistants and roleplayed human in terms of corporeal awareness/locality/etc."
    ),
    license="CC-BY-4.0",
    # One file, truthy-dpo.parquet (card: file tree).
    hub_id="jondurbin/truthy-dpo-v0.1",
    split="train",
    convert_row=convert,
    dedup="none",
)
