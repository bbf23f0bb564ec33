"""Memory helpers: streamed parquet reads give the same rows, the pool returns memory, heap trims are rate-limited."""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import bagel
from bagel import memory


def test_iter_parquet_reads_every_row_in_bounded_batches(tmp_path):
    table = pa.table({"id": [f"id-{i}" for i in range(10)], "n": list(range(10))})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=4)
    batches = list(memory.iter_parquet(path, 3, columns=["n"]))
    assert [b.num_rows for b in batches] == [3, 3, 3, 1]  # across row groups, never over 3
    assert pa.Table.from_batches(batches).column("n").to_pylist() == list(range(10))


def test_memory_pool_returns_freed_memory():
    default = pa.default_memory_pool()
    try:
        assert memory.use_returning_memory_pool() in ("jemalloc", "system")
        assert pa.default_memory_pool().backend_name in ("jemalloc", "system")
    finally:
        pa.set_memory_pool(default)


def test_heap_trims_at_most_every_interval(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "_TRIM", calls.append)
    monkeypatch.setattr(memory, "_last_trim", [0.0])
    clock = iter([100.0, 100.2, 100.6])
    monkeypatch.setattr(memory, "monotonic", lambda: next(clock))
    for _ in range(3):
        memory.trim_heap()
    assert calls == [0, 0]  # at 100.0 and 100.6; 100.2 is within 0.5 s of the first


def test_heap_trims_now_when_asked(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "_TRIM", calls.append)
    monkeypatch.setattr(memory, "_last_trim", [100.0])
    monkeypatch.setattr(memory, "monotonic", lambda: 100.1)
    memory.trim_heap()
    memory.trim_heap(now=True)
    assert calls == [0]  # only the forced one: 100.1 is within 0.5 s of the last trim


def _arrow_default_pool(**env) -> str:
    """The backend of Arrow's default pool in a fresh process that imports bagel, then pyarrow."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    env["PYTHONPATH"] = str(Path(bagel.__file__).parents[1])
    code = "import bagel, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_arrow_internal_pool_is_named_before_pyarrow_loads():
    assert _arrow_default_pool() == "system"  # not the wheels' mimalloc, which keeps freed pages
    assert _arrow_default_pool(ARROW_DEFAULT_MEMORY_POOL="mimalloc") == "mimalloc"  # a user's choice stands
