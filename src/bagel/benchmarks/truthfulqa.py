"""TruthfulQA (generation, validation): the question (hub ``question`` or the CSV's ``Question``)."""

from bagel.benchmarks.base import Benchmark, HubSource


def texts(row: dict) -> list[str]:
    """The question."""
    return [row["question"] if "question" in row else row["Question"]]


BENCHMARK = Benchmark(
    name="truthfulqa",
    texts=texts,
    hub=HubSource(path="truthfulqa/truthful_qa", name="generation", split="validation"),
    bundled="truthfulqa.csv.gz",
)
