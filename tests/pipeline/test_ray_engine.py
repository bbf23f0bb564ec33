"""The Ray engine writes the same files, byte for byte, as the local engine: on a Ray the build starts
itself (local, 2 CPUs) and on a Ray head started apart from the build, as a cluster is used.
Every Ray process here listens on the loopback address 127.0.0.2 and is stopped by the test."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from bagel.config import load_recipe
from bagel.pipeline import cache, ray_engine
from bagel.pipeline.build import run_build
from bagel.sources import io

ray = pytest.importorskip("ray")
DEMO = Path(__file__).resolve().parents[2] / "recipes" / "demo.yaml"
BENCHMARKS = Path(__file__).resolve().parents[2] / "src" / "bagel" / "data" / "benchmarks"
LOOPBACK = "127.0.0.2"
OUTPUTS = ("records.parquet", "sft.parquet", "dpo.parquet", "decontamination.jsonl")


@pytest.fixture(scope="module")
def recipe_path(tmp_path_factory) -> Path:
    recipe = yaml.safe_load(DEMO.read_text())
    recipe["decontamination"] = {"preset": "ngram"}
    for source in recipe["sources"]:
        source["path"] = str((DEMO.parent / source["path"]).resolve())
    folder = tmp_path_factory.mktemp("recipe")
    # GSM8K test items copied verbatim (the bundled benchmark file): the demo itself holds no contamination,
    # and the engines must agree on removals too
    with gzip.open(BENCHMARKS / "gsm8k_test.jsonl.gz", "rt") as handle:
        leaked = [json.loads(line) for _, line in zip(range(5), handle)]
    (folder / "leaked.jsonl").write_text("".join(json.dumps(row) + "\n" for row in leaked))
    recipe["sources"].append({"name": "leaked", "shape": "instruction", "path": str(folder / "leaked.jsonl"),
                              "confidence": 1, "columns": {"instruction": "question", "output": "answer"}})
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture(scope="module")
def local_build(recipe_path, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("local")
    return run_build(load_recipe(recipe_path), out), out


def _same_as_local(local: tuple[dict, Path], report: dict, out: Path) -> None:
    local_report, local_out = local
    assert report["outputs"] == local_report["outputs"]
    assert report["sources"].keys() == local_report["sources"].keys()
    for name, info in local_report["sources"].items():
        for step, counts in info["steps"].items():
            assert report["sources"][name]["steps"][step]["kept"] == counts["kept"], (name, step)
            assert report["sources"][name]["steps"][step]["dropped"] == counts["dropped"], (name, step)
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (local_out / name).read_bytes(), name
    assert local_report["outputs"]["records"] > 3000
    assert local_report["decontamination"]["removed"] == 5  # the leaked GSM8K items


def _count_driver_rows(monkeypatch) -> list:
    """Note every parquet read and write of this process (the driver; Ray workers are other processes)."""
    seen: list = []
    read, write = cache.read_batches, cache.ParquetSink.write
    monkeypatch.setattr(cache, "read_batches",
                        lambda path, *a, **k: seen.append(("read", path)) or read(path, *a, **k))
    monkeypatch.setattr(cache.ParquetSink, "write",
                        lambda sink, table: seen.append(("write", sink.path)) or write(sink, table))
    return seen


def test_ray_engine_equals_local_on_the_demo(recipe_path, local_build, tmp_path, monkeypatch):
    monkeypatch.setattr(io, "SHARD_BYTES", 1)  # every file and row group its own convert task
    seen = _count_driver_rows(monkeypatch)
    during_steps: list = []
    execute = ray_engine.execute_ray

    def steps_then_count(*args):
        executed = execute(*args)
        during_steps.extend(seen)
        return executed

    monkeypatch.setattr(ray_engine, "execute_ray", steps_then_count)
    try:
        remote = run_build(load_recipe(recipe_path), tmp_path / "ray", engine="ray", workers=2)
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {LOOPBACK}  # loopback only
    finally:
        ray.shutdown()
    assert during_steps == []  # the driver read and wrote no rows while the steps ran
    assert ("write", tmp_path / "ray" / "records.parquet") in seen  # then it assembled the outputs
    _same_as_local(local_build, remote, tmp_path / "ray")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@pytest.fixture
def ray_head():
    """A Ray head started apart from the build (`ray start --head`), stopped with its whole process group."""
    port = _free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # its own session dir: short socket paths, no trace in /tmp/ray
    ray_cli = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--node-ip-address", LOOPBACK, "--port", str(port),
         "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", temp_dir],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in head.stdout:
            if "Ray runtime started" in line:
                break
        else:
            pytest.fail("the Ray head did not start")
        yield f"{LOOPBACK}:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while head.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever ignored SIGTERM (ray's monitor)
        except ProcessLookupError:
            pass
        head.wait(10)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_build_on_a_ray_head_started_apart_equals_local(recipe_path, local_build, ray_head, tmp_path):
    out = tmp_path / "cluster"
    env = {**os.environ, "RAY_ADDRESS": ray_head, "RAY_AUTH_MODE": "token"}
    bagel = str(Path(sys.executable).with_name("bagel"))
    done = subprocess.run([bagel, "build", str(recipe_path), "--out", str(out), "--engine", "ray", "--workers", "2"],
                          env=env, capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    _same_as_local(local_build, report, out)
