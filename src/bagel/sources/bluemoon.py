"""bluemoon: cleaned Bluemoon fandom 1x1 roleplay chats (``Squish42/bluemoon-fandom-1-1-rp-cleaned``)."""

from bagel.records import make_id
from bagel.sources.base import ConvertContext, Source
from bagel.sources.shapes import sharegpt


def convert(row: dict, ctx: ConvertContext) -> dict:
    """The ShareGPT chat as it is; id = uuid5 of ``str(row id)``."""
    return sharegpt(row["conversations"], id=make_id(str(row["id"])))


SOURCE = Source(
    name="bluemoon",
    kind="sft",
    confidence=1,
    description="Roleplay data scraped from Bluemoon, then cleaned and formatted as ShareGPT.",
    license="WTFPL",
    # unverified: that the repo has no loading script (its card speaks of "pruned" and "full" configurations).
    hub_id="Squish42/bluemoon-fandom-1-1-rp-cleaned",
    split="train",
    data_files=("data/pruned/bluemoon.train.json",),
    convert_row=convert,
    dedup="none",
)
