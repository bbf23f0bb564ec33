"""Keeping a build's memory bounded: streamed parquet reads, an Arrow pool that hands freed
memory back to the OS, and trimming the C heap between batches.

Measured on a 250k-row synthetic parquet file (bench/synth.py) read in 4,096-row batches:
``pq.ParquetFile(path).iter_batches`` with its defaults loads a whole row group before the
first batch, and the pip wheels' default pool (mimalloc) keeps freed pages: peak RSS 289 MB;
a buffered, non-pre-buffered reader on jemalloc with zero decay time: 121 MB. Python's large
strings (row texts) live on glibc's heap, which keeps the freed gaps between live objects:
in a worker that converted, decontaminated and rendered four 25k-row sources the heap held
185 MB, 63 MB after ``malloc_trim``. Arrow's C++ code (the parquet reader) allocates from the pool
named by ``ARROW_DEFAULT_MEMORY_POOL`` when pyarrow loads, not from the one set here: ``bagel/__init__.py``
names the system allocator (the wheels' mimalloc kept ~30 MB of freed pages in each build process).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from time import monotonic
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

READ_BUFFER_BYTES = 1 << 16
T, R = TypeVar("T"), TypeVar("R")
TRIM_INTERVAL_S = 0.5


def iter_parquet(path: Path, batch_size: int, columns: list[str] | None = None,
                 row_groups: range | None = None) -> Iterator[pa.RecordBatch]:
    """Record batches of a parquet file (of its ``row_groups`` only, when given), decoded page by page on this
    thread (memory bounded by ``batch_size``)."""
    reader = pq.ParquetFile(path, buffer_size=READ_BUFFER_BYTES, pre_buffer=False)
    yield from reader.iter_batches(batch_size=batch_size, columns=columns, use_threads=False,
                                   row_groups=row_groups)


def read_ahead(items: Iterator[T], pool: ThreadPoolExecutor) -> Iterator[T]:
    """``items`` (never None), each next one fetched on ``pool`` while the caller works on the one before."""
    upcoming = pool.submit(next, items, None)
    while (item := upcoming.result()) is not None:
        upcoming = pool.submit(next, items, None)
        yield item


def map_ahead(pool: ThreadPoolExecutor, function: Callable[[T], R], items: Iterator[T], ahead: int) -> Iterator[R]:
    """``function`` of each of ``items``, in order, run on ``pool`` with at most ``ahead`` + 1 items in flight
    (read from ``items`` on the caller's thread)."""
    running: deque = deque()
    for item in items:
        running.append(pool.submit(function, item))
        if len(running) > ahead:
            yield running.popleft().result()
    while running:
        yield running.popleft().result()


def use_returning_memory_pool() -> str:
    """Make Arrow's default pool one that returns freed memory to the OS; the backend's name."""
    try:
        pa.jemalloc_set_decay_ms(0)
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow build without jemalloc (e.g. on Windows)
        pa.set_memory_pool(pa.system_memory_pool())
    return pa.default_memory_pool().backend_name


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to trim
        return None


_TRIM = _malloc_trim()
_last_trim = [0.0]


def trim_heap(now: bool = False) -> None:
    """Give the C heap's free pages back to the OS (glibc ``malloc_trim``), at most every 0.5 s (or ``now``)."""
    clock = monotonic()
    if _TRIM is not None and (now or clock - _last_trim[0] >= TRIM_INTERVAL_S):
        _last_trim[0] = clock
        _TRIM(0)
