"""Memory helpers: streamed parquet reads give the same rows, the pool returns memory, heap trims are rate-limited."""

import pyarrow as pa
import pyarrow.parquet as pq

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
