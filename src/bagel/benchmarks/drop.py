"""DROP (validation): passage + newline + question. Hub only: no local copy is bundled."""

from bagel.benchmarks.base import Benchmark, HubSource


def texts(row: dict) -> list[str]:
    """``passage + "\\n" + question``."""
    return [f"{row['passage']}\n{row['question']}"]


BENCHMARK = Benchmark(
    name="drop",
    texts=texts,
    hub=HubSource(path="ucinlp/drop", split="validation"),
    bundled=None,
)
