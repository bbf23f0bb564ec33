"""The Ray Data engine gives the same rows and ids as the local engine (local Ray, 2 CPUs)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from bagel.config import load_recipe
from bagel.pipeline.build import run_build

ray = pytest.importorskip("ray")
DEMO = Path(__file__).resolve().parents[2] / "recipes" / "demo.yaml"


def _rows(path: Path) -> list[tuple]:
    table = pq.read_table(path)
    return sorted(tuple(str(v) for v in row.values()) for row in table.to_pylist())


def test_ray_engine_equals_local_on_the_demo(tmp_path):
    recipe = yaml.safe_load(DEMO.read_text())
    recipe["decontamination"] = {"preset": "ngram"}
    for source in recipe["sources"]:
        source["path"] = str((DEMO.parent / source["path"]).resolve())
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(recipe))
    local = run_build(load_recipe(path), tmp_path / "local")
    try:
        remote = run_build(load_recipe(path), tmp_path / "ray", engine="ray", workers=2)
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.2"}  # loopback only
    finally:
        ray.shutdown()
    assert remote["outputs"] == local["outputs"]
    assert remote["sources"].keys() == local["sources"].keys()
    for name, info in local["sources"].items():
        for step, counts in info["steps"].items():
            assert remote["sources"][name]["steps"][step]["kept"] == counts["kept"], (name, step)
            assert remote["sources"][name]["steps"][step]["dropped"] == counts["dropped"], (name, step)
    for name in ("records.parquet", "sft.parquet", "dpo.parquet"):
        assert _rows(tmp_path / "ray" / name) == _rows(tmp_path / "local" / name)
    assert local["outputs"]["records"] > 3000
