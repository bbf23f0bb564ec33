"""ARC-Challenge: question + lettered choices, and question + correct answer text (both variants).

Reads the hub format (``question``, ``choices: {text, label}``, ``answerKey``) and MosaicML's
reformat (``query`` prefixed ``Question: ``, ``choices`` list, ``gold`` index; letters A, B, ...).
"""

from bagel.benchmarks.base import LETTERS, Benchmark, HubSource, lettered


def texts(row: dict) -> list[str]:
    """``question\\nA. ...`` and ``question\\n<answer text>``."""
    if "query" in row:
        question = row["query"].removeprefix("Question:").strip()
        choices = list(row["choices"])
        labels = list(LETTERS[: len(choices)])
        answer = choices[row["gold"]]
    else:
        question = row["question"]
        choices, labels = list(row["choices"]["text"]), list(row["choices"]["label"])
        answer = choices[labels.index(row["answerKey"])]
    return [lettered(question, labels, choices), f"{question}\n{answer}"]


BENCHMARK = Benchmark(
    name="arc_challenge",
    texts=texts,
    hub=HubSource(path="allenai/ai2_arc", name="ARC-Challenge", split="validation"),
    bundled="arc_challenge_test.jsonl.gz",
    original_variants=2,
    multiple_choice=True,
    numeric=True,
)
