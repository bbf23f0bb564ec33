"""``bagel eval``: score a trained model on the benchmarks the build kept out, with lm-evaluation-harness.

:func:`run_eval` (lm-eval tasks from the benchmark registry's files, the model in its prompt
format), :func:`write_results` / :func:`write_eval_html` (results.json, the side-by-side page) and
:func:`generate_mt_bench` (MT-Bench answers for judging elsewhere).
"""

from bagel.eval.mt_bench import generate_mt_bench
from bagel.eval.page import write_eval_html
from bagel.eval.results import load_results, write_results
from bagel.eval.run import EvalOptions, run_eval

__all__ = ["EvalOptions", "generate_mt_bench", "load_results", "run_eval", "write_eval_html", "write_results"]
