"""AlpacaEval: the ``instruction`` of each of the 805 items (hub json and the results-file copy alike)."""

from bagel.benchmarks.base import Benchmark, HubSource


def texts(row: dict) -> list[str]:
    """The instruction."""
    return [row["instruction"]]


BENCHMARK = Benchmark(
    name="alpaca_eval",
    texts=texts,
    hub=HubSource(path="tatsu-lab/alpaca_eval", name="alpaca_eval", split="eval"),
    bundled=None,  # data is CC BY-NC 4.0: not bundled, pass a local file or use the hub
)
