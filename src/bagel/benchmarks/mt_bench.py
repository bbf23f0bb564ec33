"""MT-Bench: the first turn of each of the 80 FastChat questions (``question.jsonl``)."""

from bagel.benchmarks.base import Benchmark


def texts(row: dict) -> list[str]:
    """The first turn."""
    return [row["turns"][0]]


BENCHMARK = Benchmark(
    name="mt_bench",
    texts=texts,
    hub=None,  # published as a FastChat repository file, not a hub data set
    bundled="mt_bench_question.jsonl.gz",
)
