"""``bagel decontaminate``: jsonl in, parquet/jsonl out, removal records, summary."""

import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from bagel.cli import app
from bagel.records import single_turn

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"
ROBE = "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?"


def _input(tmp_path: Path) -> Path:
    rows = [single_turn("Answer this: " + ROBE, "3"), single_turn("Write a haiku about autumn.", "..."),
            single_turn("Why do veins appear blue?", "...")]
    for i, row in enumerate(rows):
        row["source"] = f"src{i % 2}"
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_decontaminate_command(tmp_path):
    runner = CliRunner()
    out, removed = tmp_path / "kept.parquet", tmp_path / "removed.jsonl"
    result = runner.invoke(app, [
        "-q", "decontaminate", str(_input(tmp_path)), "--out", str(out), "--removed", str(removed),
        "--benchmark", f"gsm8k={FIX / 'gsm8k_test.jsonl'}", "--benchmark", f"truthfulqa={FIX / 'truthfulqa.csv'}",
        "--preset", "ngram",
    ])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "rows read: 3, removed: 2", "source  gsm8k  truthfulqa", "src0        1           1",
    ]
    kept = pq.read_table(out).to_pylist()
    assert [r["conversations"][0]["value"] for r in kept] == ["Write a haiku about autumn."]
    records = [json.loads(line) for line in removed.read_text().splitlines()]
    assert [(r["benchmark"], r["item_index"], r["item_text"]) for r in records] == [
        ("gsm8k", 1, ROBE), ("truthfulqa", 2, "Why do veins appear blue?")]
    assert not list(tmp_path.glob("*.tmp"))


def test_jsonl_output_and_errors(tmp_path):
    runner = CliRunner()
    source = _input(tmp_path)
    out = tmp_path / "kept.jsonl"
    args = ["decontaminate", str(source), "--out", str(out), "--preset", "ngram"]
    result = runner.invoke(app, [*args, "--benchmark", f"gsm8k={FIX / 'gsm8k_test.jsonl'}"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2
    assert runner.invoke(app, [*args, "--benchmark", "nope"]).exit_code == 2
    assert runner.invoke(app, [*args, "--preset", "fast"]).exit_code == 2
    bad = runner.invoke(app, ["decontaminate", str(source), "--out", str(tmp_path / "x.csv"), "--preset", "ngram"])
    assert bad.exit_code == 2 and "must be a .parquet or .jsonl" in bad.output
