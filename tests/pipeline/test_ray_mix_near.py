"""The Ray engine runs the mix, near dedup and exclude sets exactly as the local engine does."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bagel.config import load_recipe
from bagel.pipeline.build import run_build
from tests.pipeline.helpers import qa, write_jsonl, write_recipe

ray = pytest.importorskip("ray")
GSM8K = Path(__file__).parents[1] / "fixtures" / "dedup" / "gsm8k_train_questions.jsonl.gz"


def test_ray_equals_local_with_weights_near_dedup_and_exclude(tmp_path):
    questions = [json.loads(line)["question"] for line in gzip.open(GSM8K, "rt", encoding="utf-8")][:180]
    write_jsonl(tmp_path / "data" / "a.jsonl", [qa(q, "a") for q in questions[:80]])
    write_jsonl(tmp_path / "data" / "b.jsonl", [qa(q.upper() + "!", "b") for q in questions[40:120]]  # near copies
                + [qa(q, "b") for q in questions[120:]])
    write_jsonl(tmp_path / "data" / "old.jsonl", [qa(q, "old") for q in questions[:10]])
    write_jsonl(tmp_path / "data" / "c.jsonl", [qa(q + " (copy)", "c") for q in questions[100:110]])
    sources = [{"name": n, "shape": "instruction", "path": f"data/{n}.jsonl", "confidence": c, "weight": w}
               for n, c, w in (("a", 3, 1), ("b", 1, 1))]
    sources.append({"name": "c", "shape": "instruction", "path": "data/c.jsonl", "confidence": 0, "near_dedup": False})
    exclude = [{"name": "old", "path": "data/old.jsonl", "shape": "instruction"}]
    recipe = write_recipe(tmp_path / "r.yaml", sources, mix={"rows": 120}, exclude=exclude,
                          dedup={"near": {"enabled": True}}, format={"formats": ["alpaca"]})
    local = run_build(load_recipe(recipe), tmp_path / "local")
    try:
        remote = run_build(load_recipe(recipe), tmp_path / "ray", engine="ray", workers=2)
    finally:
        ray.shutdown()
    assert local["sources"]["a"]["steps"]["dedup"]["dropped"] == {"excluded:old": 10}
    assert local["sources"]["b"]["steps"]["dedup"]["dropped"] == {"near_duplicate": 40}
    assert local["sources"]["a"]["steps"]["mix"]["kept"] == 60 and local["sources"]["b"]["steps"]["mix"]["kept"] == 60
    assert local["sources"]["c"]["steps"]["dedup"]["dropped"] == {}  # near copies of b's, but opted out
    for name in ("a", "b", "c"):
        for step, counts in local["sources"][name]["steps"].items():
            assert remote["sources"][name]["steps"][step]["kept"] == counts["kept"], (name, step)
            assert remote["sources"][name]["steps"][step]["dropped"] == counts["dropped"], (name, step)
    assert remote["mix"] == local["mix"] and remote["near_duplicates"] == local["near_duplicates"]
    for name in ("records.parquet", "sft.parquet", "near_duplicates.jsonl"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
