"""HumanEval (test): the prompt (signature + docstring)."""

from bagel.benchmarks.base import Benchmark, HubSource


def texts(row: dict) -> list[str]:
    """The prompt."""
    return [row["prompt"]]


BENCHMARK = Benchmark(
    name="humaneval",
    texts=texts,
    hub=HubSource(path="openai/openai_humaneval", split="test"),
    bundled="humaneval.jsonl.gz",
)
