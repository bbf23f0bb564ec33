"""The functions the task configs name (``!function bagel_functions.<name>``).

Every lm-eval 0.4.x resolves ``!function module.name`` against a ``module.py`` next to the YAML
(newer ones also import installed modules), so :func:`bagel.eval.taskfiles.write_task` puts a
one-line ``bagel_functions.py`` re-exporting this module into the include dir. Scoring stays
lm-eval's: TruthfulQA MC2 and DROP use its task utilities, HumanEval runs in its code sandbox;
only the HumanEval program (prompt + completion + tests) is put together here.
"""

from __future__ import annotations

from bagel.errors import UserError

__all__ = ["build_programs", "drop_process_results", "pass_at_k", "process_results_mc2"]

SHIM_MODULE = "bagel_functions"
FENCE = "```"


def process_results_mc2(doc: dict, results: list) -> dict:
    """lm-eval's TruthfulQA MC2 score of one item."""
    from lm_eval.tasks.truthfulqa.utils import process_results_mc2 as score

    return score(doc, results)


def drop_process_results(doc: dict, results: list) -> dict:
    """lm-eval's DROP exact match and F1 of one item."""
    from lm_eval.tasks.drop.utils import process_results as score

    return score(doc, results)


def program(doc: dict, completion: str) -> str:
    """``prompt + completion`` (up to a closing code fence), the tests and the call of ``check``."""
    body = completion.split(FENCE, 1)[0]
    return f"{doc['prompt']}{body}\n\n{doc['test']}\ncheck({doc['entry_point']})\n"


def build_programs(resps: list[list[str]], docs: list[dict]) -> list[list[str]]:
    """lm-eval filter: every response of every HumanEval doc as a runnable program."""
    return [[program(doc, response) for response in responses] for responses, doc in zip(resps, docs)]


def pass_at_k(references: list[str], predictions: list[list[str]], k: list[int] | None = None) -> dict:
    """pass@k of the programs, each run in lm-eval's sandbox (a killed subprocess per program, 3 s limit)."""
    try:
        from lm_eval.tasks.cruxeval.utils import pass_at_k as run
    except ImportError:
        raise UserError("humaneval is scored in lm-eval's code sandbox (lm_eval.tasks.cruxeval), which this "
                        "lm-eval lacks: upgrade lm-eval, or use --use-hub for its own humaneval task") from None
    return run(references, predictions, k=k)
