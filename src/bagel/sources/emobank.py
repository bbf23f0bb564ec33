"""emobank: sentences annotated with Valence-Arousal-Dominance scores (``JULIELab/EmoBank`` on GitHub)."""

import io
import json
from collections.abc import Iterator

from bagel import records
from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.io import FILE, csv_rows, download_text

URL = "https://raw.githubusercontent.com/JULIELab/EmoBank/master/corpus/emobank.csv"
PREFIX = "Please assign a Valence-Arousal-Dominance (VAD) score in JSON format to the following message:\n"

def fetch(source: Source) -> Iterator[list[dict]]:
    """The rows of ``corpus/emobank.csv`` downloaded from GitHub, as one batch."""
    text = download_text(source.options["url"])
    yield [{**row, FILE: "emobank.csv"} for row in csv_rows(io.StringIO(text, newline=""))]

def convert(row: dict, ctx: ConvertContext) -> dict:
    """Rows of the ``train`` split: the message (stripped, trailing quote removed) answered by its V/A/D as JSON.

    The scores keep their CSV text (``"3.0"``); the id is the uuid5 of the CSV ``id``.
    """
    if row["split"] != ctx.options["split"]:
        raise Skip("other_split")
    text = row["text"].strip().rstrip('"').rstrip()
    answer = json.dumps({"V": row["V"], "A": row["A"], "D": row["D"]}, indent=2)
    rec = records.single_turn(PREFIX + text, answer)
    rec["id"] = records.make_id(row["id"])
    return rec

SOURCE = Source(
    name="emobank",
    kind="sft",
    confidence=3,
    description="Emotion annotations using the Valence-Arousal-Domninance scheme.",
    license="CC-BY-SA-4.0",
    hub_id=None,
    split=None,
    fetch=fetch,
    convert_row=convert,
    dedup="none",
    options={"url": URL, "split": "train"},
)
