"""Per-source benchmark coverage in the build report, and ``drop_source_above`` dropping a whole source."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from bagel.config import load_recipe
from bagel.pipeline.build import run_build
from tests.pipeline.helpers import qa, write_jsonl, write_recipe

GSM8K = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "gsm8k_test.jsonl"


def _recipe(tmp_path: Path, **decontamination) -> Path:
    items = [json.loads(line)["question"] for line in GSM8K.read_text().splitlines()]
    write_jsonl(tmp_path / "data" / "leaky.jsonl", [qa(items[0], "18"), qa("Write a haiku about rain.", "..."),
                                                    qa("Name three primes.", "2, 3, 5")])
    write_jsonl(tmp_path / "data" / "tidy.jsonl", [qa("Tell me about owls.", "..."), qa("Why is the sky blue?", "..")])
    sources = [{"name": n, "shape": "instruction", "path": f"data/{n}.jsonl", "confidence": 3} for n in ("leaky", "tidy")]
    decon = {"preset": "ngram", "benchmarks": [f"gsm8k={GSM8K}"], **decontamination}
    return write_recipe(tmp_path / "r.yaml", sources, decontamination=decon,
                        format={"mode": "random", "formats": ["alpaca"]})


def test_coverage_reported(tmp_path):
    run_build(load_recipe(_recipe(tmp_path)), tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    n = len(GSM8K.read_text().splitlines())
    assert report["decontamination"]["coverage"] == {"leaky": {"gsm8k": round(1 / n, 6)}}
    assert report["decontamination"]["dropped_sources"] == {}
    assert "coverage" in (tmp_path / "out" / "report.html").read_text()
    removal = json.loads((tmp_path / "out" / "decontamination.jsonl").read_text().splitlines()[0])
    assert (removal["benchmark_items"], removal["score"]) == (n, 1.0)


def test_drop_source_above(tmp_path):
    run_build(load_recipe(_recipe(tmp_path, drop_source_above=0.02)), tmp_path / "out")  # leaky holds 1 of 3
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["decontamination"]["dropped_sources"] == {"leaky": 2}
    assert report["sources"]["leaky"]["steps"]["decontam"]["kept"] == 0
    assert report["sources"]["leaky"]["steps"]["decontam"]["dropped"] == {"contaminated:gsm8k": 1,
                                                                          "source_over_coverage": 2}
    assert sorted(pq.read_table(tmp_path / "out" / "records.parquet").column("source").to_pylist()) == ["tidy"] * 2
