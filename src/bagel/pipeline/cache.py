"""The step cache: each step's output lives under ``<out>/cache/<step>/``, keyed by a hash of
its inputs, options and the code the step runs (its module and what that imports), and is written
atomically.

An entry is a parquet file plus a JSON file of its counts; the JSON is renamed into place
last, so an entry exists only when both are complete. A step that drops nothing writes no
copy: its JSON points at its input's file. A killed build leaves at most a
``*.tmp`` file behind, which the next run overwrites.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bagel.atomic import atomic_write_bytes, atomic_write_json  # noqa: F401 - the step cache's writers
from bagel.memory import iter_parquet, trim_heap
from bagel.pipeline.code import code_version, import_graph

ROW_GROUP_SIZE = 4096  # rows per row group of every file the build writes (the default batch size)


def key(*parts, code: tuple[str, ...] = ()) -> str:
    """A stable hex key of JSON-serialisable ``parts`` and of the code that computes with them: the module
    that calls ``key`` (a step's module), the modules named in ``code`` and everything those import
    (:func:`bagel.pipeline.code.code_version`)."""
    caller = sys._getframe(1).f_globals.get("__name__", "")
    roots = sorted({caller, *code} & import_graph().keys())
    blob = json.dumps([code_version(*roots), *parts], sort_keys=True, default=str).encode()
    return hashlib.blake2b(blob, digest_size=10).hexdigest()


class ParquetSink:
    """Writes tables to ``path`` incrementally, then renames into place on close.

    Row groups hold exactly :data:`ROW_GROUP_SIZE` rows (the last one fewer) whatever the sizes of the
    tables written; the bytes also depend on how the tables are chunked (the writer's pages follow the
    chunks), so files assembled from parts are written from :func:`read_rows`, whose tables are the same
    however the parts were cut.
    """

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.schema = schema
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        """Append ``table`` (cast to the sink's schema); every step writes through here, batch by batch,
        so this is also where the heap freed by the batch before is handed back."""
        if table.num_rows:
            self._pending.append(table.select(self.schema.names).cast(self.schema))
            self._pending_rows += table.num_rows
            self.rows += table.num_rows
            if self._pending_rows >= ROW_GROUP_SIZE:
                self._flush(final=False)
        trim_heap()

    def _flush(self, final: bool) -> None:
        pending = pa.concat_tables(self._pending)
        whole = pending.num_rows if final else pending.num_rows - pending.num_rows % ROW_GROUP_SIZE
        for start in range(0, whole, ROW_GROUP_SIZE):
            self._writer.write_table(pending.slice(start, min(ROW_GROUP_SIZE, whole - start)),
                                     row_group_size=ROW_GROUP_SIZE)
        rest = pending.slice(whole)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._pending_rows:
            self._flush(final=True)
        self._writer.close()
        os.replace(self.tmp, self.path)


def write_parquet(path: Path, schema: pa.Schema, tables: Iterable[pa.Table]) -> int:
    """Stream ``tables`` into one parquet file at ``path``, atomically; returns the row count."""
    sink = ParquetSink(path, schema)
    for table in tables:
        sink.write(table)
    sink.close()
    return sink.rows


def concat_parquet(parts: list[list[Path]], dst: Path, schema: pa.Schema) -> int:
    """Stream the rows of ``parts`` (each the files of one source, in order), in order, into one parquet file
    at ``dst``; returns the row count. Each part is read as :func:`read_rows` reads it, so the file is the
    same however a source's rows were cut into files (a parquet writer's bytes depend on how the tables it
    is given are chunked, not only on their rows)."""
    return write_parquet(dst, schema, (table for paths in parts for table in read_rows(paths)))


def read_rows(paths: list[Path], batch_size: int = ROW_GROUP_SIZE) -> Iterator[pa.Table]:
    """The rows of ``paths``, one file after the other, as one-chunk tables of ``batch_size`` rows (the last
    fewer): the same tables whether the rows are in one file of ``batch_size``-row groups or cut over
    several files."""
    pending: list[pa.Table] = []
    rows = 0
    for path in paths:
        for batch in read_batches(path, batch_size=batch_size):
            if not pending and batch.num_rows == batch_size:  # aligned: as read
                yield pa.Table.from_batches([batch])
                continue
            pending.append(pa.Table.from_batches([batch]))
            rows += batch.num_rows
            if rows >= batch_size:
                table = pa.concat_tables(pending).combine_chunks()
                whole = rows - rows % batch_size
                for start in range(0, whole, batch_size):
                    yield table.slice(start, batch_size)
                rest = table.slice(whole)
                pending, rows = ([rest] if rest.num_rows else []), rest.num_rows
    if rows:
        yield pa.concat_tables(pending).combine_chunks()


def row_count(path: Path) -> int:
    """The number of rows of a parquet file (from its footer)."""
    return pq.ParquetFile(path).metadata.num_rows


def read_batches(path: Path, columns: list[str] | None = None, batch_size: int = 4096,
                 row_groups: tuple[int, int] | None = None):
    """Record batches of a parquet file, or of its row groups ``[start, stop)`` (bounded memory)."""
    return iter_parquet(path, batch_size, columns, None if row_groups is None else range(*row_groups))


def row_group_ranges(path: Path, rows: int) -> list[tuple[int, int]]:
    """The row groups of a parquet file cut into ranges ``[start, stop)`` of at least ``rows`` rows (the last
    one fewer), in order; one empty range for a file without rows. The shards of a per-shard step."""
    meta = pq.ParquetFile(path).metadata
    ranges, start, count = [], 0, 0
    for group in range(meta.num_row_groups):
        count += meta.row_group(group).num_rows
        if count >= rows:
            ranges.append((start, group + 1))
            start, count = group + 1, 0
    if count or not ranges:
        ranges.append((start, meta.num_row_groups))
    return ranges


def shard_entry(directory: Path, name: str, entry_key: str, index: int, part, suffix: str = "") -> tuple[str, Entry]:
    """The key and entry of shard ``index`` (which covers ``part``) of a step's output ``entry_key`` for
    source ``name``: ``<directory>/shards/<name>.shard<index><suffix>-<key>.parquet``."""
    shard_key = key(entry_key, index, part)
    return shard_key, Entry(Path(directory) / "shards", f"{name}.shard{index:05d}{suffix}", shard_key)


def join_files(paths: list[Path], dst: Path, schema: pa.Schema) -> Path:
    """One file holding the rows of ``paths`` in order: the only path itself, else their concatenation at
    ``dst``. How the shards of a step become the source's output."""
    if len(paths) == 1:
        return Path(paths[0])
    concat_parquet([paths], dst, schema)
    return dst


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write ``rows`` as JSON Lines (UTF-8, keys sorted), atomically."""
    atomic_write_bytes(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode())


class Entry:
    """One cache entry: ``<dir>/<name>-<key>.parquet`` and its counts ``.json``."""

    def __init__(self, directory: Path, name: str, entry_key: str):
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        self.data = Path(directory) / f"{safe}-{entry_key}.parquet"
        self.meta = self.data.with_suffix(".json")

    def load_meta(self) -> dict:
        """The counts saved with the entry."""
        return json.loads(self.meta.read_text())

    def save_meta(self, meta: dict) -> None:
        """Save the counts; call after the data file is in place."""
        atomic_write_json(self.meta, meta)
