"""GSM8K (main, test): the question."""

from bagel.benchmarks.base import Benchmark, HubSource


def texts(row: dict) -> list[str]:
    """The question."""
    return [row["question"]]


BENCHMARK = Benchmark(
    name="gsm8k",
    texts=texts,
    hub=HubSource(path="openai/gsm8k", name="main", split="test"),
    bundled="gsm8k_test.jsonl.gz",
    numeric=True,
)
