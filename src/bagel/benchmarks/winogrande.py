"""Winogrande (xl, validation): the sentence with its blank, plus the sentence with each option filled in.

Reads the hub format (``sentence``/``option1``/``option2``) and MosaicML's reformat
(``context_options``: the text up to the blank with each option filled in, ``continuation``: the rest).
"""

from bagel.benchmarks.base import Benchmark, HubSource


def _join(head: str, tail: str) -> str:
    """Join the two halves of a sentence the way the reformat split it (no space before punctuation)."""
    return head + tail if not tail or not tail[0].isalnum() else f"{head} {tail}"


def _from_mosaic(row: dict) -> list[str]:
    first, second = row["context_options"]
    cut = 0
    while cut < min(len(first), len(second)) and first[cut] == second[cut]:
        cut += 1
    cut = first.rfind(" ", 0, cut) + 1  # back to the start of the word where the options differ
    sentence = _join(first[:cut] + "_", row["continuation"])
    return [sentence, *(_join(option, row["continuation"]) for option in row["context_options"])]


def texts(row: dict) -> list[str]:
    """The sentence (blank as ``_``), then the two filled-in sentences."""
    if "context_options" in row:
        return _from_mosaic(row)
    sentence = row["sentence"]
    return [sentence, *(sentence.replace("_", row[key], 1) for key in ("option1", "option2"))]


BENCHMARK = Benchmark(
    name="winogrande",
    texts=texts,
    hub=HubSource(path="allenai/winogrande", name="winogrande_xl", split="validation"),
    bundled="winogrande_dev.jsonl.gz",
)
