"""``bagel decontaminate``: filter a unified-records file, write the kept rows and the removal records."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bagel.decontam.detector import Decontaminator
from bagel.decontam.options import DecontamOptions
from bagel.errors import UserError
from bagel.formats.files import read_records
from bagel.log import logger, progress
from bagel.records import RECORD_SCHEMA


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


class _Writer:
    """Kept records to ``.parquet`` or ``.jsonl`` through a temp file, renamed into place on close."""

    def __init__(self, path: Path):
        if path.suffix not in (".parquet", ".jsonl"):
            raise UserError(f"{path}: the output must be a .parquet or .jsonl file")
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            self.sink = pq.ParquetWriter(_tmp(path), RECORD_SCHEMA, compression="zstd")
        else:
            self.sink = _tmp(path).open("w", encoding="utf-8")

    def write(self, table: pa.Table) -> None:
        if isinstance(self.sink, pq.ParquetWriter):
            self.sink.write_table(table)
        else:
            self.sink.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in table.to_pylist())

    def close(self) -> None:
        self.sink.close()
        os.replace(_tmp(self.path), self.path)


def decontaminate_file(
    input_path: Path, out: Path, removed_path: Path | None, options: DecontamOptions, cache_dir: Path | None = None
) -> tuple[int, Counter]:
    """Filter ``input_path`` into ``out`` (atomic); write removal records to ``removed_path`` (JSON Lines).

    Returns the number of rows read and the removals counted per (source, benchmark).
    """
    decon = Decontaminator(options, cache_dir)
    dropped: Counter = Counter()
    writer, removals, rows = _Writer(out), [], 0
    try:
        for batch in progress(read_records(input_path, dropped), desc="decontaminate", unit="batches"):
            kept, removed = decon.filter_batch(batch)
            rows += batch.num_rows
            writer.write(kept)
            removals += removed
    except BaseException:
        writer.sink.close()
        _tmp(out).unlink(missing_ok=True)
        raise
    writer.close()
    for reason, count in dropped.items():
        logger.warning("%s: %d input lines skipped (%s)", input_path, count, reason)
    if removed_path:
        removed_path.parent.mkdir(parents=True, exist_ok=True)
        _tmp(removed_path).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in removals), "utf-8")
        os.replace(_tmp(removed_path), removed_path)
    return rows, Counter((r["source"], r["benchmark"]) for r in removals)


def summary_lines(rows: int, counts: Counter) -> list[str]:
    """A per-source x benchmark table of removal counts, as text lines."""
    benchmarks = sorted({b for _, b in counts})
    sources = sorted({s for s, _ in counts})
    lines = [f"rows read: {rows}, removed: {sum(counts.values())}"]
    if counts:
        width = max(len("source"), *(len(s) for s in sources))
        lines.append("  ".join(["source".ljust(width), *benchmarks]))
        for source in sources:
            cells = [str(counts[(source, b)]).rjust(len(b)) for b in benchmarks]
            lines.append("  ".join([source.ljust(width), *cells]))
    return lines
