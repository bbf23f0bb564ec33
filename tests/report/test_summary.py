"""The terminal summary ``bagel build`` prints."""

from __future__ import annotations

import json

from rich.console import Console

from bagel.report import print_summary


def test_print_summary_rows_in_load_and_step_order(build_dir):
    console = Console(record=True, width=200, color_system=None)
    print_summary(json.loads((build_dir / "report.json").read_text()), console)
    lines = console.export_text().splitlines()
    rows = [line.replace("┃", "│") for line in lines if line[:1] in ("│", "┃")]
    cells = [[c.strip() for c in row.split("│")[1:-1]] for row in rows]
    assert cells == [
        ["source", "conf", "in", "convert", "sample", "dedup", "trim", "decontam", "render", "dropped by reason"],
        ["alpha", "3", "8", "7", "7", "6", "6", "5", "5",
         "contaminated:gsm8k=1, duplicate=1, malformed:no_response=1"],
        ["beta", "2", "4", "3", "3", "3", "3", "3", "3", "refusal:as an ai=1"],
        ["gamma", "1", "10", "10", "4", "4", "2", "2", "2", "sampled_out=6, capped=2"],
    ]
    assert lines[-1] == "records: 10  sft rows: 12  dpo rows: 6  decontaminated: 1  time: 4.6s"
