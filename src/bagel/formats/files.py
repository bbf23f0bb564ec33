"""``bagel format``: render a records file (parquet or JSON Lines of unified records) into sft/dpo parquet."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from bagel.errors import UserError
from bagel.formats.options import FormatOptions
from bagel.formats.renderer import DPO_SCHEMA, SFT_SCHEMA, Renderer
from bagel.log import progress
from bagel.memory import iter_parquet
from bagel.records import to_table

BATCH_SIZE = 10_000


def _jsonl_batches(path: Path, dropped: Counter) -> Iterator[pa.Table]:
    """Tables of up to BATCH_SIZE records from a JSON Lines file; invalid lines are counted in ``dropped``."""
    with path.open(encoding="utf-8") as handle:
        chunk: list[dict] = []
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                chunk.append(json.loads(line))
            except json.JSONDecodeError:
                dropped["malformed:invalid_json"] += 1
                continue
            if len(chunk) == BATCH_SIZE:
                yield _records_table(chunk, path, number)
                chunk = []
        if chunk:
            yield _records_table(chunk, path, number)


def _records_table(chunk: list[dict], path: Path, line: int) -> pa.Table:
    try:
        return to_table(chunk)
    except (pa.ArrowException, TypeError, ValueError) as err:
        raise UserError(f"{path}: records up to line {line} are not unified records ({err})") from None


def read_records(path: Path, dropped: Counter) -> Iterator[pa.RecordBatch | pa.Table]:
    """Batches of the records in ``path`` (``.parquet`` or ``.jsonl``)."""
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    if path.suffix == ".parquet":
        return iter_parquet(path, BATCH_SIZE)
    if path.suffix == ".jsonl":
        return _jsonl_batches(path, dropped)
    raise UserError(f"{path}: expected a .parquet or .jsonl records file")


def format_file(records: Path, out_dir: Path, options: FormatOptions, seed: int) -> tuple[Counter, Counter, Counter]:
    """Render ``records`` into ``out_dir/sft.parquet`` and ``out_dir/dpo.parquet`` (atomic writes).

    Returns ``(sft rows per format, dpo rows per format, dropped items per reason)``.
    """
    from bagel.pipeline.cache import ParquetSink

    renderer = Renderer(options, seed)
    if options.mode == "slices":
        renderer.prepare(i for batch in read_records(records, Counter()) for i in batch.column("id").to_pylist())
    sft_counts, dpo_counts, dropped = Counter(), Counter(), Counter()
    sft_sink = ParquetSink(out_dir / "sft.parquet", SFT_SCHEMA)
    dpo_sink = ParquetSink(out_dir / "dpo.parquet", DPO_SCHEMA)
    for batch in progress(read_records(records, dropped), desc="render", unit="batches"):
        sft, dpo, bad = renderer.render_batch(batch)
        sft_sink.write(sft)
        dpo_sink.write(dpo)
        sft_counts.update(sft.column("format").to_pylist())
        dpo_counts.update(dpo.column("format").to_pylist())
        dropped.update(bad)
    sft_sink.close()
    dpo_sink.close()
    return sft_counts, dpo_counts, dropped
