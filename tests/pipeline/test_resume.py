"""kill -9 in the middle of a real build, rerun: the output equals an uninterrupted build's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.pipeline.helpers import write_recipe

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from synth import records as synth_records  # noqa: E402


def _bagel(*args, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bagel.cli", "--quiet", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_and_resume_gives_identical_output(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = synth_records(12_000, seed=3)
    for part in range(3):
        chunk = rows[part::3]
        pq.write_table(pa.Table.from_pylist(chunk), tmp_path / f"part{part}.parquet")
    sources = [{"name": f"part{p}", "shape": "records", "path": f"part{p}.parquet", "confidence": 3 - p}
               for p in range(3)]
    recipe = write_recipe(tmp_path / "big.yaml", sources, format={"mode": "every"})

    proc = _bagel("build", str(recipe), "--out", "killed", cwd=tmp_path)
    deadline = time.time() + 120
    marker = tmp_path / "killed" / "cache" / "convert"
    while time.time() < deadline and not any(marker.glob("part0-*.json")):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "sft.parquet").exists()  # it really was cut short

    for out in ("killed", "clean"):
        done = _bagel("build", str(recipe), "--out", out, cwd=tmp_path)
        _, err = done.communicate(timeout=300)
        assert done.returncode == 0, err.decode()
    for name in ("records.parquet", "sft.parquet", "dpo.parquet"):
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    assert not list((tmp_path / "killed").rglob("*.tmp"))
