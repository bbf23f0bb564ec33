"""Step 1 of a build: read one source's rows and convert them to valid unified records.

Reader -> converter -> validator -> refusal filter, streamed batch by batch. The refusal filter
checks the text of each record that the source's scope names; a source whose ``refusal_stage``
is ``rows`` has its converter check the raw rows instead (``ctx.skip_if_refusal``). Either way
a scope of ``none`` (or a recipe with the filter off) checks nothing. Every row
that does not become a record is counted by reason: ``malformed:<why>`` (missing field,
wrong type, invalid chat), a converter's own :class:`~bagel.sources.base.Skip` reason,
``dpo:identical`` (a preference pair whose answers are the same), or ``refusal:<pattern>``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from bagel.config import Recipe, SourceConfig
from bagel.errors import UserError
from bagel.filters import RefusalMatcher, refusal_text
from bagel.log import logger, progress_batches
from bagel.pipeline import cache
from bagel.pipeline.checks import check_converted
from bagel.pipeline.code import module_of
from bagel.pipeline.result import StepResult, cached_result, combine, finish_result
from bagel.records import RECORD_SCHEMA, STRATUM
from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.hub import HubUnavailable, hub_reads, load_revision
from bagel.sources.io import (FILE, MALFORMED, FilePart, HubPart, fingerprint, hub_parts, local_shards, read_hub,
                             read_local, read_shard)
from bagel.validate import identical_pair, record_problem

CONVERTED_SCHEMA = RECORD_SCHEMA.append(pa.field(STRATUM, pa.string()))


def source_rows(source: Source, path=None, batch_size: int = 2048, part: HubPart | None = None) -> Iterator[list[dict]]:
    """The raw rows of ``source``: from the local ``path`` when given, else its own fetch, else the hub (only
    those of ``part`` when given)."""
    if path is not None:
        return read_local(path, batch_size)
    if source.fetch is not None:
        return source.fetch(source)
    if source.hub_id is None:
        raise UserError(f"source {source.name}: no hub id; give a local `path:`")
    revision = load_revision(source.pins, source.hub_id, source.revision)
    return read_hub(source.hub_id, source.hub_config, source.split, source.data_files, batch_size, revision=revision,
                    part=part)


def _guarded(rows: Iterable[dict], ctx: ConvertContext) -> Iterator[dict]:
    """Rows with reader markers removed (and counted), counting every row read and noting its file."""
    for row in rows:
        ctx.counts["in"] += 1
        ctx.file = row.get(FILE, ctx.file)
        if MALFORMED in row:
            ctx.drop(f"malformed:{row[MALFORMED]}", row)
            continue
        yield row


def convert_source(
    source: Source, batches: Iterable[list[dict]], ctx: ConvertContext, refusal: RefusalMatcher | None
) -> Iterator[list[dict]]:
    """Convert ``batches`` of raw rows of ``source`` into batches of valid records.

    ``ctx.counts`` receives ``in`` (rows read), ``kept`` and one key per drop reason.
    Per-source converters (``convert_rows``) see all rows as one stream; they count their
    own drops through ``ctx.counts`` or by raising nothing and yielding fewer records.
    """
    counts = ctx.counts
    scope = source.refusal if refusal is not None else "none"
    if scope != "none" and source.refusal_stage == "rows":  # the converter checks its raw rows
        ctx.refusal_matcher = refusal
        scope = "none"
    rows = (row for batch in batches for row in _guarded(batch, ctx))
    if source.convert_rows is not None:
        produced = _safe_rows(source, rows, ctx)
    else:
        produced = ctx.each(rows, source.convert_row)
    batch: list[dict] = []
    for rec in produced:
        problem = record_problem(rec)
        if problem:
            ctx.drop(f"malformed:{problem}", rec)
            continue
        if identical_pair(rec):
            counts["dpo:identical"] += 1
            continue
        if scope != "none":
            pattern = refusal(refusal_text(rec, scope))
            if pattern is not None:
                counts[f"refusal:{pattern}"] += 1
                continue
        rec["source"] = rec.get("source") or source.name
        rec["confidence"] = source.confidence
        counts["kept"] += 1
        batch.append(rec)
        if len(batch) >= 2048:
            yield batch
            batch = []
    if batch:
        yield batch


def _safe_rows(source: Source, rows: Iterable[dict], ctx: ConvertContext) -> Iterator[dict]:
    try:
        yield from source.convert_rows(rows, ctx)
    except Skip as skip:  # a per-source converter that gives up on the whole source
        logger.warning("source %s: %s", source.name, skip.reason)
        ctx.drop(skip.reason)


def convert_file(source: Source, path, *, seed: int = 42, options: dict | None = None) -> tuple[list[dict], Counter]:
    """Convert a local file of ``source`` with the default refusal patterns: (records, counts).

    The same code path as a build's convert step, for tests and quick looks.
    """
    ctx = ConvertContext(source.name, seed, {**source.options, **(options or {})})
    out = [rec for batch in convert_source(source, source_rows(source, path), ctx, RefusalMatcher()) for rec in batch]
    return out, ctx.counts


def source_spec(source: Source, cfg: SourceConfig) -> dict:
    """Everything about a source that its converted output depends on (no function objects)."""
    spec = {
        "name": source.name,
        "confidence": source.confidence,
        "hub": [source.hub_id, source.hub_config, source.split, source.data_files],
        "refusal": [source.refusal, source.refusal_stage],
        "options": source.options,
        "path": fingerprint(cfg.path) if cfg.path is not None else None,
        "shape": [cfg.shape, cfg.columns],
    }
    reads = hub_reads(source, local=cfg.path is not None)
    if reads:  # what is read from the hub, at which commit (an unpinned read is keyed by its ref)
        spec["hub_reads"] = [read.as_dict(source.pins) for read in reads]
    return spec


def source_code(source: Source) -> tuple[str, ...]:
    """The modules of a source's own code (converter, fetch, hub reads): part of its convert key."""
    functions = (source.convert_row, source.convert_rows, source.fetch, source.hub_reads)
    return tuple(sorted({m for m in map(module_of, functions) if m}))


ARROW_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)  # UnicodeEncodeError is a ValueError


def _table(records: list[dict], ctx: ConvertContext) -> pa.Table:
    """``records`` as a table; a record Arrow cannot encode (e.g. a lone surrogate in a string) is dropped
    alone, counted ``malformed:arrow_encoding`` instead of ``kept``."""
    try:
        return pa.Table.from_pylist(records, schema=CONVERTED_SCHEMA)
    except ARROW_ERRORS:
        pass
    encodable = []
    for rec in records:
        try:
            pa.Table.from_pylist([rec], schema=CONVERTED_SCHEMA)
        except ARROW_ERRORS:
            ctx.counts["kept"] -= 1
            ctx.drop("malformed:arrow_encoding", rec)
            continue
        encodable.append(rec)
    return pa.Table.from_pylist(encodable, schema=CONVERTED_SCHEMA)


def convert_key(recipe: Recipe, cfg: SourceConfig, source: Source) -> str:
    """The cache key of a source's converted output: its spec, seed, refusal settings and converter code."""
    return cache.key("convert", source_spec(source, cfg), recipe.seed,
                     recipe.refusal.model_dump() if source.refusal != "none" else None, code=source_code(source))


Shard = tuple[FilePart, ...] | HubPart | None  # None: the whole input, read as one stream


def convert_shards(cfg: SourceConfig, source: Source) -> list[Shard]:
    """The shards of a source's input that convert apart (in parallel), in order: parts of a local path
    (:func:`~bagel.sources.io.local_shards`) or of a hub split (:func:`~bagel.sources.io.hub_parts`). One
    shard, the whole input, for a source read by its own fetch or from every split of the hub, with a
    per-source converter (it sees rows together), or not ``shardable``."""
    if source.convert_rows is not None or not source.shardable:
        return [None]
    if cfg.path is not None:
        return list(local_shards(cfg.path))
    if source.fetch is not None or source.hub_id is None or source.split is None:
        return [None]
    revision = load_revision(source.pins, source.hub_id, source.revision)
    try:
        parts = hub_parts(source.hub_id, source.hub_config, source.split, source.data_files, revision)
    except HubUnavailable as err:  # name the source in the one-line error
        raise err.for_source(source.name) from None
    return parts if len(parts) > 1 else [None]


def converted(recipe: Recipe, cfg: SourceConfig, source: Source, root: Path) -> bool:
    """Whether the source's converted output is in the cache (then it is not cut, nor its input read again:
    a rebuild needs no hub)."""
    entry_key = convert_key(recipe, cfg, source)
    entry = cache.Entry(root / "convert", source.name, entry_key)
    return cached_result("convert", source.name, entry, entry_key) is not None


def _shard_spec(shard: Shard) -> list:
    if isinstance(shard, HubPart):
        return [shard.index, shard.count, shard.row_groups]
    return [[p.name, p.row_groups] for p in shard]


def convert_shard(recipe: Recipe, cfg: SourceConfig, source: Source, root: Path, index: int,
                  shard: Shard) -> StepResult:
    """Read + convert + validate + refusal-filter one shard of a source into ``cache/convert`` (the whole
    input when ``shard`` is None); counts and malformed examples go in the result."""
    entry_key = convert_key(recipe, cfg, source)
    entry = cache.Entry(root / "convert", source.name, entry_key)
    if shard is not None:
        entry_key, entry = cache.shard_entry(root / "convert", source.name, entry_key, index, _shard_spec(shard))
    if hit := cached_result("convert", source.name, entry, entry_key):
        return hit
    started = time.perf_counter()
    refusal = RefusalMatcher(recipe.refusal.patterns) if recipe.refusal.enabled else None
    ctx = ConvertContext(source.name, recipe.seed, dict(source.options), pins=source.pins)
    ctx.file = recipe.display_path(cfg.path) if cfg.path is not None else source.hub_id
    if shard is None or isinstance(shard, HubPart):
        rows = source_rows(source, cfg.path, recipe.batch_size, shard)
    else:
        rows = read_shard(shard, recipe.batch_size)
    batches = convert_source(source, rows, ctx, refusal)
    tables = (_table(batch, ctx) for batch in progress_batches(batches, desc=f"convert {source.name}"))
    try:
        cache.write_parquet(entry.data, CONVERTED_SCHEMA, tables)
    except HubUnavailable as err:  # name the source in the one-line error
        raise err.for_source(source.name) from None
    counts = Counter(ctx.counts)
    rows_in, kept = counts.pop("in", 0), counts.pop("kept", 0)
    result = StepResult("convert", source.name, entry.data, entry_key, rows_in, kept, dict(counts),
                        extra={"examples": dict(sorted(ctx.examples.items()))})
    return finish_result(result, entry, started)


def join_shards(recipe: Recipe, cfg: SourceConfig, source: Source, root: Path, parts: list[StepResult]) -> StepResult:
    """The source's converted output from its shards' (concatenated in order; one shard is used as it is),
    with their counts summed, then checked (:func:`~bagel.pipeline.checks.check_converted`: its error and
    warnings go in ``extra``)."""
    entry_key = convert_key(recipe, cfg, source)
    entry = cache.Entry(root / "convert", source.name, entry_key)
    if len(parts) == 1 and parts[0].path == entry.data:  # the whole input, converted as one shard
        result = parts[0]
    elif not (result := cached_result("convert", source.name, entry, entry_key)):
        result = combine("convert", source.name, entry.data, entry_key, parts)
        started = time.perf_counter() - result.seconds
        result.path = cache.join_files([p.path for p in parts], entry.data, CONVERTED_SCHEMA)
        examples: dict = {}
        for part in parts:
            examples = {**part.extra.get("examples", {}), **examples}  # the first shard's example of a reason
        result.extra["examples"] = dict(sorted(examples.items()))
        result = finish_result(result, entry, started)
    result.extra["error"], result.extra["warnings"] = check_converted(
        recipe, cfg, source, result.rows_in, result.kept, result.dropped, result.extra.get("examples", {}))
    return result
