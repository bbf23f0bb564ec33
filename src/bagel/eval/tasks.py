"""The benchmarks ``bagel eval`` scores: one lm-eval task each, read from the benchmark registry's files.

Each task pairs an lm-eval task config (``configs/<benchmark>.yaml``, data: lm-eval's own config
with the dataset left out) with a converter from any published row format of the benchmark (the
bundled copy, the hub's) to the fields that config reads. ``hub_task`` is lm-eval's own task
definition, used instead with ``--use-hub``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from bagel.benchmarks.base import LETTERS

Row = dict
Convert = Callable[[Row], Row]


@dataclass(frozen=True)
class EvalTask:
    """A benchmark as an lm-eval task: config file, row converter, lm-eval's hub task, code execution."""

    benchmark: str  # name in the benchmark registry
    task: str  # lm-eval task name in the generated config (and in results.json)
    convert: Convert
    hub_task: str
    runs_code: bool = False

    def config_text(self) -> str:
        """The lm-eval YAML config of this task, without its dataset."""
        return (resources.files("bagel.eval") / "configs" / f"{self.benchmark}.yaml").read_text(encoding="utf-8")


def _arc(row: Row) -> Row:
    """Hub schema ``question``/``choices{text,label}``/``answerKey`` from the hub row or MosaicML's reformat."""
    if "query" in row:
        choices = list(row["choices"])
        labels = list(LETTERS[: len(choices)])
        return {"question": row["query"].removeprefix("Question:").strip(),
                "choices": {"text": choices, "label": labels}, "answerKey": labels[int(row["gold"])]}
    return {"question": row["question"], "choices": {"text": list(row["choices"]["text"]),
            "label": [str(label) for label in row["choices"]["label"]]}, "answerKey": str(row["answerKey"])}


def _gsm8k(row: Row) -> Row:
    """``question`` and ``answer`` (the worked solution ending ``#### <number>``)."""
    return {"question": row["question"], "answer": row["answer"]}


def _mmlu(row: Row) -> Row:
    """``question``, four ``choices``, ``answer`` as an index (a letter is accepted too)."""
    answer = row["answer"]
    index = LETTERS.index(answer) if isinstance(answer, str) and answer in LETTERS else int(answer)
    return {"question": row["question"], "subject": row.get("subject", ""), "choices": list(row["choices"]),
            "answer": index}


def _split_answers(value) -> list[str]:
    """The CSV's ``;``-separated answers (a list passes through)."""
    items = value if isinstance(value, list) else str(value).split(";")
    return [item.strip() for item in items if item and item.strip()]


def _truthfulqa(row: Row) -> Row:
    """``question`` and ``mc2_targets{choices,labels}``: true answers (label 1) then false ones (label 0).

    Reads the hub's multiple_choice config (passed through), its generation config
    (``correct_answers``/``incorrect_answers``) and the original CSV (``Correct Answers``/...).
    """
    if "mc2_targets" in row:
        targets = row["mc2_targets"]
        return {"question": row["question"],
                "mc2_targets": {"choices": list(targets["choices"]), "labels": [int(x) for x in targets["labels"]]}}
    if "Question" in row:
        question, true, false = row["Question"], row["Correct Answers"], row["Incorrect Answers"]
    else:
        question, true, false = row["question"], row["correct_answers"], row["incorrect_answers"]
    true, false = _split_answers(true), _split_answers(false)
    if not true or not false:
        raise ValueError("a TruthfulQA item needs true and false answers")
    labels = [1] * len(true) + [0] * len(false)
    return {"question": question, "mc2_targets": {"choices": true + false, "labels": labels}}


def _winogrande(row: Row) -> Row:
    """``contexts`` (the text up to the blank with each option), ``continuation`` (the rest), ``gold`` index.

    Reads MosaicML's reformat (``context_options``/``continuation``/``gold``) and the hub's
    ``sentence``/``option1``/``option2``/``answer`` ("1" or "2").
    """
    if "context_options" in row:
        return {"contexts": list(row["context_options"]), "continuation": row["continuation"], "gold": int(row["gold"])}
    blank = row["sentence"].index("_")
    head = row["sentence"][:blank]
    return {"contexts": [head + row["option1"], head + row["option2"]],
            "continuation": row["sentence"][blank + 1 :].strip(), "gold": int(row["answer"]) - 1}


def _humaneval(row: Row) -> Row:
    """``task_id``, ``prompt``, ``test``, ``entry_point``, and ``answer_start``: the prompt that opens the answer,
    its runs of 3+ newlines made two (bagel's chat templates collapse them in the answer, as in training)."""
    out = {key: row[key] for key in ("task_id", "prompt", "test", "entry_point")}
    return out | {"answer_start": re.sub(r"\n{3,}", "\n\n", row["prompt"])}


def _drop(row: Row) -> Row:
    """``passage``, ``question``, ``answers`` (a list of span lists) from ucinlp/drop or EleutherAI/drop rows."""
    if "answers_spans" in row:
        answers = [list(row["answers_spans"]["spans"])]
    else:
        from lm_eval.tasks.drop.utils import get_answers

        answers = [list(answer) for answer in get_answers(row)]
    return {"passage": row["passage"], "question": row["question"], "answers": answers}


EVAL_TASKS: dict[str, EvalTask] = {
    task.benchmark: task
    for task in (
        EvalTask("arc_challenge", "arc_challenge", _arc, hub_task="arc_challenge"),
        EvalTask("gsm8k", "gsm8k", _gsm8k, hub_task="gsm8k"),
        EvalTask("mmlu", "mmlu", _mmlu, hub_task="mmlu"),
        EvalTask("truthfulqa", "truthfulqa_mc2", _truthfulqa, hub_task="truthfulqa_mc2"),
        EvalTask("winogrande", "winogrande", _winogrande, hub_task="winogrande"),
        EvalTask("humaneval", "humaneval", _humaneval, hub_task="humaneval_instruct", runs_code=True),
        EvalTask("drop", "drop", _drop, hub_task="drop"),
    )
}

# Registered benchmarks that are judged by a model rather than scored by lm-eval.
JUDGED = {"mt_bench": "use `bagel eval --generate mt_bench MODEL` and judge the answers with FastChat",
          "alpaca_eval": "its answers are judged by a model (AlpacaEval), not scored by lm-eval"}
