"""`bagel eval` and `bagel eval-report` on the command line: files written, table printed, one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bagel.cli import app

runner = CliRunner()


def test_eval_writes_results_page_and_prints_table(trained_dir, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", str(trained_dir), "--tasks", "arc_challenge,humaneval", "--limit", "1",
                                 "--format", "alpaca", "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["bagel"]["format"] == "alpaca" and saved["bagel"]["tasks"] == ["arc_challenge"]
    assert saved["bagel"]["limit"] == 1 and saved["n-samples"]["arc_challenge"]["effective"] == 1
    assert "|arc_challenge|" in result.stdout.replace(" ", "")
    assert "skipped humaneval: runs model-written code: pass --allow-code-execution to score it" in result.stdout
    assert "<h1>bagel eval: " in (out / "eval.html").read_text()
    report = runner.invoke(app, ["eval-report", str(out / "results.json"), str(out), "--out", str(tmp_path / "c.html")])
    assert report.exit_code == 0 and "(1) vs" in (tmp_path / "c.html").read_text()


def test_benchmark_without_a_file_is_one_line(trained_dir, tmp_path):
    result = runner.invoke(app, ["eval", str(trained_dir), "--tasks", "drop", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == ("error: drop: no bundled copy of this benchmark; give a local file "
                             "(--tasks drop=PATH) or use lm-eval's hub task (--use-hub)\n")


def test_bad_batch_size_is_one_line(trained_dir, tmp_path):
    result = runner.invoke(app, ["eval", str(trained_dir), "--batch-size", "big", "--out", str(tmp_path)])
    assert result.exit_code == 2 and result.stderr.startswith("error: bad eval option batch_size")
