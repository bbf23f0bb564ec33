"""Eval results on disk: ``results.json`` (lm-eval's results plus bagel's run facts), per-sample logs, the table."""

from __future__ import annotations

import json
from pathlib import Path

from bagel.errors import UserError
from bagel.atomic import atomic_write_bytes

RESULTS_FILE = "results.json"
SAMPLES_DIR = "samples"


def _json(obj, indent: int | None = None) -> bytes:
    from lm_eval.utils import handle_non_serializable

    return (json.dumps(obj, indent=indent, ensure_ascii=False, default=handle_non_serializable) + "\n").encode()


def write_results(results: dict, out_dir: Path, log_samples: bool = False) -> Path:
    """Write ``out_dir/results.json`` (everything but the per-sample log) and, with ``log_samples``,
    ``out_dir/samples/<task>.jsonl`` (each request's prompt, response and score). Returns results.json's path."""
    out_dir = Path(out_dir)
    summary = {key: value for key, value in results.items() if key != "samples"}
    path = out_dir / RESULTS_FILE
    atomic_write_bytes(path, _json(summary, indent=2))
    if log_samples:
        for task, samples in results.get("samples", {}).items():
            atomic_write_bytes(out_dir / SAMPLES_DIR / f"{task}.jsonl", b"".join(map(_json, samples)))
    return path


def load_results(path: Path) -> dict:
    """A ``results.json`` written by ``bagel eval`` (or by lm-eval itself: ``results`` is what is needed)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no eval results at {path}") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(results, dict) or not isinstance(results.get("results"), dict):
        raise UserError(f"{path}: not an lm-eval results file (no 'results' object)")
    return results


def results_table(results: dict) -> str:
    """lm-eval's Markdown table of the scores (task, filter, n-shot, metric, value, stderr)."""
    from lm_eval.utils import make_table

    return make_table(results)
