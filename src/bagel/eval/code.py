"""HumanEval programs: the prompt, the model's completion and the tests, as one program to run.

The completion is cut at the closing code fence of the instruction prompt's answer; the program
runs in lm-eval's sandbox (``lm_eval.tasks.cruxeval.utils.pass_at_k``), named in ``configs/humaneval.yaml``.
"""

from __future__ import annotations

FENCE = "```"


def program(doc: dict, completion: str) -> str:
    """``prompt + completion`` (up to a closing fence), the tests and the call of ``check``."""
    body = completion.split(FENCE, 1)[0]
    return f"{doc['prompt']}{body}\n\n{doc['test']}\ncheck({doc['entry_point']})\n"


def build_programs(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval filter: every response of every doc as a runnable program."""
    return [[program(doc, response) for response in responses] for responses, doc in zip(resps, docs)]
