"""``bagel format``: render a records file (parquet or JSON Lines of unified records) into sft/dpo parquet."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from bagel.errors import UserError
from bagel.formats.options import FormatOptions
from bagel.formats.renderer import DPO_SCHEMA, SFT_SCHEMA, Renderer
from bagel.log import progress
from bagel.memory import iter_parquet, read_ahead, use_returning_memory_pool
from bagel.records import RECORD_SCHEMA, to_table

BATCH_SIZE = 10_000  # records per batch; the sinks' parquet pages follow batch boundaries, so bytes depend on it
BLOCK_BYTES = 4 << 20  # JSON Lines are parsed in blocks of whole lines of about this size


_UNIVERSAL_NEWLINE = re.compile(rb"\r\n|\r|\n")
_LONE_CR = re.compile(rb"\r(?!\n)")
_JSON_SPACE = b" \t\r"
_JSON_PARSE = pa_json.ParseOptions(explicit_schema=RECORD_SCHEMA, unexpected_field_behavior="ignore")


def _line_blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes in blocks of about BLOCK_BYTES, each ending at a newline (the last one may not)."""
    with path.open("rb") as handle:
        rest = b""
        while block := handle.read(BLOCK_BYTES):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            if cut:
                yield block[:cut]
            rest = block[cut:]
        if rest:
            yield rest


def _arrow_block(block: bytes) -> pa.Table | None:
    """The block's records parsed by Arrow, or None when Arrow might read it differently from the Python path.

    Arrow's reader is taken only where it provably agrees with ``json.loads`` line by line: valid
    UTF-8, no lone ``\\r`` (a line break for the Python path), every non-blank line a single
    object from its first non-space byte ``{`` to its last ``}``, and one row per such line (a line
    holding two objects, or an object spanning lines, gives another count). Anything else (and any
    Arrow error: duplicate keys, a wrong type, bad JSON) goes to the Python path, which counts or
    reports it exactly as before. Objects are checked to start a line before Arrow sees the block:
    pyarrow 26 crashes on a block whose first line is ``null``.
    """
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if b"\r" in block and _LONE_CR.search(block):
        return None
    lines = 0
    for line in block.split(b"\n"):
        if not (line.startswith(b"{") and line.endswith(b"}")):
            line = line.strip(_JSON_SPACE)
            if not line:
                continue
            if not (line.startswith(b"{") and line.endswith(b"}")):
                return None
        lines += 1
    if not lines:
        return None
    try:
        table = pa_json.read_json(
            pa.BufferReader(block),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(block) + 1),
            parse_options=_JSON_PARSE,
        )
    except pa.ArrowException:
        return None
    return table if table.num_rows == lines else None


def _python_block(block: bytes, first_line: int, dropped: Counter) -> pa.Table:
    """The block's records read line by line with ``json.loads`` (lines split as text files split them);
    invalid lines (bad JSON or bad UTF-8) are counted in ``dropped``."""
    chunk: list[dict] = []
    for raw in _UNIVERSAL_NEWLINE.split(block):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            dropped["malformed:invalid_json"] += 1
            continue
        if not line.strip():
            continue
        try:
            chunk.append(json.loads(line))
        except json.JSONDecodeError:
            dropped["malformed:invalid_json"] += 1
    last_line = first_line + block.count(b"\n") - block.endswith(b"\n")
    return _records_table(chunk, f"lines {first_line}-{last_line}")


def _jsonl_batches(path: Path, dropped: Counter, batch_size: int) -> Iterator[pa.Table]:
    """Tables of ``batch_size`` records (the last one fewer) from a JSON Lines file; invalid lines are counted in
    ``dropped``. Blocks of lines are parsed by Arrow where that gives what the line-by-line path would."""
    pending: list[pa.Table] = []
    pending_rows = 0
    line = 1
    for block in _line_blocks(path):
        table = _arrow_block(block)
        if table is None:
            try:
                table = _python_block(block, line, dropped)
            except UserError as err:
                raise UserError(f"{path}: {err}") from None
        line += block.count(b"\n")
        pending.append(table)
        pending_rows += table.num_rows
        while pending_rows >= batch_size:
            joined = pa.concat_tables(pending)
            yield joined.slice(0, batch_size)
            pending, pending_rows = [joined.slice(batch_size)], pending_rows - batch_size
    if pending_rows:
        yield pa.concat_tables(pending)


def _records_table(chunk: list[dict], where: str) -> pa.Table:
    try:
        return to_table(chunk)
    except (pa.ArrowException, TypeError, ValueError, UnicodeError) as err:
        raise UserError(f"{where} are not unified records ({err})") from None


def read_records(path: Path, dropped: Counter, batch_size: int = BATCH_SIZE) -> Iterator[pa.RecordBatch | pa.Table]:
    """Batches of ``batch_size`` records (the last one fewer) of ``path`` (``.parquet`` or ``.jsonl``)."""
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    if path.suffix == ".parquet":
        return iter_parquet(path, batch_size)
    if path.suffix == ".jsonl":
        return _jsonl_batches(path, dropped, batch_size)
    raise UserError(f"{path}: expected a .parquet or .jsonl records file")


def format_file(records: Path, out_dir: Path, options: FormatOptions, seed: int) -> tuple[Counter, Counter, Counter]:
    """Render ``records`` into ``out_dir/sft.parquet`` and ``out_dir/dpo.parquet`` (atomic writes).

    Reading the next batch and writing the last one's rows run on two threads beside the rendering
    (Arrow parses, encodes and compresses without holding the GIL); at most one batch waits on each side.
    Returns ``(sft rows per format, dpo rows per format, dropped items per reason)``.
    """
    from bagel.pipeline.cache import ParquetSink

    use_returning_memory_pool()
    renderer = Renderer(options, seed)
    if options.mode == "slices":
        renderer.prepare(i for batch in read_records(records, Counter()) for i in batch.column("id").to_pylist())
    sft_counts, dpo_counts, dropped, read_dropped = Counter(), Counter(), Counter(), Counter()
    sinks = (ParquetSink(out_dir / "sft.parquet", SFT_SCHEMA), ParquetSink(out_dir / "dpo.parquet", DPO_SCHEMA))

    def write(tables: tuple[pa.Table, pa.Table]) -> None:
        for sink, counts, table in zip(sinks, (sft_counts, dpo_counts), tables):
            sink.write(table)
            counts.update({row["values"]: row["counts"] for row in pc.value_counts(table["format"]).to_pylist()})

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="format-io") as io:
        writing = None
        for batch in progress(read_ahead(read_records(records, read_dropped), io), "render", None, "batches"):
            sft, dpo, bad = renderer.render_batch(batch)
            dropped.update(bad)
            if writing is not None:
                writing.result()
            writing = io.submit(write, (sft, dpo))
        if writing is not None:
            writing.result()
    for sink in sinks:
        sink.close()
    return sft_counts, dpo_counts, dropped + read_dropped
