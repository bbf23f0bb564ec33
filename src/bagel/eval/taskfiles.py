"""Pick the lm-eval tasks of a ``--tasks`` list and write their configs and data files into an include dir.

Each benchmark's rows come from where decontamination reads them (a ``NAME=PATH`` file, else the
bundled copy), are converted to the fields the task config reads, and are written as JSON Lines
next to a config that loads them with ``dataset_path: json`` (no hub access). With ``use_hub``,
lm-eval's own task definitions are named instead and any other lm-eval task name passes through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bagel.benchmarks import REGISTRY, parse_entry
from bagel.benchmarks.files import read_rows
from bagel.benchmarks.registry import bundled_path
from bagel.errors import UserError
from bagel.eval.functions import SHIM_MODULE
from bagel.eval.tasks import EVAL_TASKS, JUDGED, EvalTask
from bagel.log import logger

DEFAULT_BENCHMARKS = ("arc_challenge", "gsm8k", "mmlu", "truthfulqa", "winogrande", "humaneval")


@dataclass
class TaskSelection:
    """What to run: lm-eval task names, where each one's rows came from, and what was skipped and why."""

    tasks: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _split(spec: str) -> tuple[str, str | None]:
    name, _, path = spec.partition("=")
    return name.strip(), path.strip() or None


def _rows(task: EvalTask, path: str | None) -> tuple[list[dict], str]:
    """The benchmark's converted rows and where they came from; unreadable rows are counted and skipped."""
    entry = parse_entry({"name": task.benchmark, "path": path})
    source = entry.path or bundled_path(REGISTRY[task.benchmark])
    if source is None:
        raise UserError(f"{task.benchmark}: no bundled copy of this benchmark; give a local file "
                        f"(--tasks {task.benchmark}=PATH) or use lm-eval's hub task (--use-hub)")
    raw = read_rows(Path(source))
    rows, bad = [], 0
    for row in raw:
        try:
            rows.append(task.convert(row))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            bad += 1
    if bad:
        logger.warning("eval %s: %d of %d rows unreadable, skipped", task.benchmark, bad, len(raw))
    if not rows:
        raise UserError(f"{task.benchmark}: no readable rows in {source}")
    origin = f"{source if entry.path else 'bundled ' + Path(source).name} ({len(rows)} rows)"
    return rows, origin


def write_task(task: EvalTask, rows: list[dict], include_dir: Path) -> Path:
    """Write ``rows`` as JSON Lines and the task's lm-eval config reading them (plus the module of the
    functions configs name, see :mod:`bagel.eval.functions`); return the config path."""
    shim = include_dir / f"{SHIM_MODULE}.py"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text("from bagel.eval.functions import *  # noqa: F403\n", encoding="utf-8")
    data = include_dir / "data" / f"{task.task}.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    dataset = {"dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data.resolve())}},
               "test_split": "test"}
    config = include_dir / f"{task.task}.yaml"
    config.write_text(task.config_text() + "\n" + yaml.safe_dump(dataset, sort_keys=False), encoding="utf-8")
    return config


def select_tasks(specs: list[str], include_dir: Path, *, use_hub: bool = False,
                 allow_code_execution: bool = False) -> TaskSelection:
    """Resolve ``specs`` (``NAME`` or ``NAME=PATH``) into lm-eval tasks, writing local ones into ``include_dir``.

    A judged benchmark (MT-Bench, AlpacaEval) or an unknown name is a :class:`UserError`; a
    code-running task without ``allow_code_execution`` is skipped with a warning.
    """
    selection = TaskSelection()
    for spec in specs:
        name, path = _split(spec)
        task = EVAL_TASKS.get(name)
        if name in JUDGED:
            raise UserError(f"{name} is not an lm-eval task: {JUDGED[name]}")
        if task is None:
            if use_hub and not path:
                selection.tasks.append(name)  # an lm-eval task of its own registry
                selection.sources[name] = "lm-eval task"
                continue
            raise UserError(f"unknown eval task {name!r}: use one of {', '.join(EVAL_TASKS)}"
                            + ("" if use_hub else ", or --use-hub for lm-eval's own tasks"))
        if task.runs_code and not allow_code_execution:
            reason = "runs model-written code: pass --allow-code-execution to score it"
            logger.warning("eval %s skipped: it %s", name, reason)
            selection.skipped[task.task] = reason
            continue
        if use_hub and not path:
            selection.tasks.append(task.hub_task)
            selection.sources[task.hub_task] = "lm-eval hub task"
            continue
        rows, origin = _rows(task, path)
        write_task(task, rows, include_dir)
        selection.tasks.append(task.task)
        selection.sources[task.task] = origin
    if not selection.tasks:
        raise UserError("no task left to run" + (f" ({', '.join(selection.skipped)} skipped)" if selection.skipped
                                                 else ""))
    return selection
