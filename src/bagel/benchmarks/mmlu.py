"""MMLU (all, test): the question, and the question with its lettered choices."""

from bagel.benchmarks.base import LETTERS, Benchmark, HubSource, lettered


def texts(row: dict) -> list[str]:
    """The question, then question + ``A. ...`` choice lines."""
    choices = list(row.get("choices") or [])
    return [row["question"], lettered(row["question"], list(LETTERS[: len(choices)]), choices)]


BENCHMARK = Benchmark(
    name="mmlu",
    texts=texts,
    hub=HubSource(path="cais/mmlu", name="all", split="test"),
    bundled="mmlu_test.jsonl.gz",
    multiple_choice=True,
    numeric=True,
    full_variant=1,
)
