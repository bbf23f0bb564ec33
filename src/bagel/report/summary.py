"""The terminal summary of a build: one table, per source, of rows kept after each step and drops by reason."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from bagel.report import order, provenance


def print_summary(report: dict, console: Console | None = None) -> None:
    """Print one table: per source, rows in / kept after each step / dropped by reason."""
    console = console or Console(width=200)
    steps = order.steps(report)
    table = Table(title=f"bagel build: {report['recipe']} (seed {report['seed']})")
    table.add_column("source")
    table.add_column("conf", justify="right")
    table.add_column("in", justify="right")
    for step in steps:
        table.add_column(step, justify="right")
    table.add_column("dropped by reason")
    for name, info in order.sources(report):
        dropped: Counter = Counter()
        for step in steps:
            dropped.update(info["steps"][step]["dropped"])
        reasons = ", ".join(f"{r}={n}" for r, n in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0])))
        table.add_row(name, str(info["confidence"]), str(info["steps"][steps[0]]["in"]),
                      *(str(info["steps"][s]["kept"]) for s in steps), reasons or "-")
    console.print(table)
    out = report["outputs"]
    console.print(f"records: {out['records']}  sft rows: {out['sft']}  dpo rows: {out['dpo']}  "
                  f"decontaminated: {report['decontamination']['removed']}  time: {report['timings']['total']}s")
    for entry in provenance.skipped(report):
        console.print(f"skipped {provenance.skipped_line(entry)}", markup=False, highlight=False)
