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

from collections import Counter
from collections.abc import Iterable, Iterator

from bagel.errors import UserError
from bagel.filters import RefusalMatcher, refusal_text
from bagel.log import logger
from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.hub import load_revision
from bagel.sources.io import FILE, MALFORMED, read_hub, read_local
from bagel.validate import identical_pair, record_problem

STRATUM = "_stratum"  # optional key a converter sets for stratified sampling


def source_rows(source: Source, path=None, batch_size: int = 2048) -> Iterator[list[dict]]:
    """The raw rows of ``source``: from the local ``path`` when given, else its own fetch, else the hub."""
    if path is not None:
        return read_local(path, batch_size)
    if source.fetch is not None:
        return source.fetch(source)
    if source.hub_id is None:
        raise UserError(f"source {source.name}: no hub id; give a local `path:`")
    revision = load_revision(source.pins, source.hub_id, source.revision)
    return read_hub(source.hub_id, source.hub_config, source.split, source.data_files, batch_size, revision=revision)


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
