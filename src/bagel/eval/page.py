"""eval.html: several eval runs side by side (e.g. base vs SFT vs DPO), in the style of report.html.

One row per task, metric and filter, one column per run: the score with its standard error,
the best score of the row in bold, and each later run's difference to the first. Then the facts
of every run (model, format, limit, seed, versions). Self-contained, no script, data escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from bagel.eval.results import load_results
from bagel.atomic import atomic_write_bytes
from bagel.report.page import _section, _table
from bagel.report.style import CSS

Key = tuple[str, str, str]  # task, metric, filter


def scores(results: dict) -> dict[Key, tuple[float, float | None]]:
    """``(task, metric, filter) -> (value, stderr)`` of every numeric metric in lm-eval's ``results``."""
    found = {}
    for task, metrics in results["results"].items():
        for name, value in metrics.items():
            metric, comma, filt = name.partition(",")  # "acc,none"; "alias", "sample_len" have no filter
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not comma or metric.endswith("_stderr") or not numeric:
                continue
            stderr = metrics.get(f"{metric}_stderr,{filt}")
            found[(task, metric, filt)] = (float(value), stderr if isinstance(stderr, (int, float)) else None)
    return found


def run_label(results: dict, path: Path) -> str:
    """The run's name: its model dir's name (the results file's dir for lm-eval's own files)."""
    model = (results.get("bagel") or {}).get("model")
    return Path(model).name if model else Path(path).resolve().parent.name


def _labels(runs: list[tuple[Path, dict]]) -> list[str]:
    labels = [run_label(results, path) for path, results in runs]
    return [f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


def _higher_is_better(runs: list[dict], task: str, metric: str) -> bool:
    for results in runs:
        flag = results.get("higher_is_better", {}).get(task, {}).get(metric)
        if flag is not None:
            return bool(flag)
    return True


def _cell(score: tuple[float, float | None] | None, best: bool, first: float | None) -> str:
    if score is None:
        return '<span class="muted">—</span>'
    value, stderr = score
    text = f"{value:.4f}" + (f' <span class="stat">± {stderr:.4f}</span>' if stderr is not None else "")
    if best:
        text = f"<b>{text}</b>"
    if first is not None:
        text += f'<span class="stat"> ({value - first:+.4f})</span>'
    return text


def score_table(labels: list[str], runs: list[dict]) -> str:
    """The side-by-side table of every task, metric and filter."""
    per_run = [scores(results) for results in runs]
    keys = list(dict.fromkeys(key for found in per_run for key in found))
    rows = []
    for task, metric, filt in keys:
        values = [found.get((task, metric, filt)) for found in per_run]
        present = [v[0] for v in values if v is not None]
        higher = _higher_is_better(runs, task, metric)
        best = (max if higher else min)(present) if len(present) > 1 else None
        first = values[0][0] if values[0] is not None else None
        cells = [_cell(v, v is not None and v[0] == best, first if i and first is not None else None)
                 for i, v in enumerate(values)]
        rows.append([escape(task), escape(metric) + ("" if higher else " ↓"), escape(filt), *cells])
    head = ["task", "metric", "filter", *map(escape, labels)]
    return _table(head, rows, set(range(3, 3 + len(labels))))


def runs_table(labels: list[str], runs: list[tuple[Path, dict]]) -> str:
    """One row per run: results file, model, adapter base, format, limit, seed, device, lm-eval version."""
    rows = []
    for label, (path, results) in zip(labels, runs):
        info = results.get("bagel") or {}
        config = results.get("config") or {}
        version = (info.get("versions") or {}).get("lm_eval") or results.get("lm_eval_version", "")
        cells = [label, str(path), info.get("model") or config.get("model", ""),
                 info.get("base_model") if info.get("adapter") else "—", info.get("format") or "none",
                 info.get("limit", config.get("limit")), info.get("seed", config.get("random_seed")),
                 info.get("device", config.get("device")), version]
        rows.append([escape("" if cell is None else str(cell)) for cell in cells])
    return _table(["run", "results file", "model", "adapter on", "format", "limit", "seed", "device", "lm-eval"], rows)


def render_eval_html(runs: list[tuple[Path, dict]]) -> str:
    """The whole page for ``runs`` (results file path, results), the first run being the baseline."""
    labels = _labels(runs)
    results = [r for _, r in runs]
    title = "bagel eval: " + " vs ".join(labels)
    body = (f"<h1>{escape(title)}</h1>"
            '<p class="note">Scores from lm-evaluation-harness, ± the standard error; the best of each row in bold '
            "(↓: lower is better); in brackets each run's difference to the first.</p>"
            + _section("scores", "Scores", score_table(labels, results))
            + _section("runs", "Runs", runs_table(labels, runs)))
    nav = '<a href="#scores">Scores</a><a href="#runs">Runs</a>'
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>"
            f"<body><nav><b>bagel</b>{nav}</nav><main>{body}</main></body></html>\n")


def write_eval_html(files: list[Path], out: Path) -> Path:
    """Read each results file (or run dir) and write the comparison page to ``out``."""
    runs = [(Path(path), load_results(path)) for path in files]
    atomic_write_bytes(Path(out), render_eval_html(runs).encode("utf-8"))
    return Path(out)
