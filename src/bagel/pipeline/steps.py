"""The build's steps, each one job, each reading and writing cached parquet and counting its drops.

Per source: ``convert`` (read, convert, validate, refusal filter) -> ``sample`` (before
dedup). Across sources, in load order: ``dedup``. Per source again: ``trim`` (sample after
dedup, then the cap) -> ``decontam`` -> ``render``. Every step function returns a
:class:`StepResult`; none holds more than a batch of records in memory.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bagel.config import Recipe, SourceConfig
from bagel.dedup import SeenSet
from bagel.filters import RefusalMatcher
from bagel.decontam.coverage import over_threshold
from bagel.log import logger, progress_batches
from bagel.pipeline import cache
from bagel.pipeline.convert import STRATUM, convert_source, source_rows
from bagel.pipeline.sample import hashes, lowest, sample_mask
from bagel.records import RECORD_SCHEMA
from bagel.sources.base import ConvertContext, Source
from bagel.sources.io import fingerprint

CONVERTED_SCHEMA = RECORD_SCHEMA.append(pa.field(STRATUM, pa.string()))
ID_BATCH_ROWS = 65536  # ids per batch where a step needs only the id column


@dataclass
class StepResult:
    """What one step did for one source: counts, time, where its output is."""

    step: str
    source: str
    path: Path
    key: str
    rows_in: int = 0
    kept: int = 0
    dropped: dict = field(default_factory=dict)
    seconds: float = 0.0
    cached: bool = False
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The report form of this result."""
        return {
            "in": self.rows_in,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 3),
            "cached": self.cached,
            **self.extra,
        }


def _cached(step: str, name: str, entry: cache.Entry, entry_key: str) -> StepResult | None:
    if not entry.meta.exists():
        return None
    meta = entry.load_meta()
    path = Path(meta.get("path") or entry.data)  # a step that dropped nothing points at its input
    if not path.exists():
        return None
    return StepResult(
        step, name, path, entry_key, meta["in"], meta["kept"], meta["dropped"], meta["seconds"], True,
        meta.get("extra", {}),
    )


def _finish(result: StepResult, entry: cache.Entry, started: float) -> StepResult:
    result.seconds = time.perf_counter() - started
    meta = {"in": result.rows_in, "kept": result.kept, "dropped": result.dropped, "seconds": result.seconds,
            "extra": result.extra, "path": None if result.path == entry.data else str(result.path)}
    entry.save_meta(meta)
    return result


def source_spec(source: Source, cfg: SourceConfig) -> dict:
    """Everything about a source that its converted output depends on (no function objects)."""
    return {
        "name": source.name,
        "confidence": source.confidence,
        "hub": [source.hub_id, source.hub_config, source.split, source.data_files],
        "refusal": source.refusal,
        "options": source.options,
        "path": fingerprint(cfg.path) if cfg.path is not None else None,
        "shape": [cfg.shape, cfg.columns],
    }


def _table(records: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(records, schema=CONVERTED_SCHEMA)


def convert_step(recipe: Recipe, cfg: SourceConfig, source: Source, root: Path) -> StepResult:
    """Read + convert + validate + refusal-filter one source into ``cache/convert``."""
    refusal = RefusalMatcher(recipe.refusal.patterns) if recipe.refusal.enabled else None
    entry_key = cache.key("convert", source_spec(source, cfg), recipe.seed,
                          recipe.refusal.model_dump() if source.refusal != "none" else None)
    entry = cache.Entry(root / "convert", source.name, entry_key)
    if hit := _cached("convert", source.name, entry, entry_key):
        return hit
    started = time.perf_counter()
    ctx = ConvertContext(source.name, recipe.seed, dict(source.options))
    batches = convert_source(source, source_rows(source, cfg.path, recipe.batch_size), ctx, refusal)
    tables = (_table(batch) for batch in progress_batches(batches, desc=f"convert {source.name}"))
    cache.write_parquet(entry.data, CONVERTED_SCHEMA, tables)
    counts = Counter(ctx.counts)
    rows_in, kept = counts.pop("in", 0), counts.pop("kept", 0)
    return _finish(StepResult("convert", source.name, entry.data, entry_key, rows_in, kept, dict(counts)), entry,
                   started)


def _filter_by_mask(src: Path, dst: Path, mask, schema: pa.Schema, batch_size: int) -> tuple[Path, int]:
    """Copy the rows of ``src`` whose position is set in ``mask`` to ``dst`` (streamed): (path, rows kept).

    When the mask keeps every row nothing is copied and ``src`` itself is returned.
    """
    if np.all(mask):
        return src, len(mask)
    offset = 0

    def tables():
        nonlocal offset
        for batch in cache.read_batches(src, batch_size=batch_size):
            part = mask[offset : offset + batch.num_rows]
            offset += batch.num_rows
            yield pa.Table.from_batches([batch]).filter(pa.array(part))

    return dst, cache.write_parquet(dst, schema, tables())


def _column(path: Path, name: str) -> list:
    return pq.read_table(path, columns=[name]).column(name).to_pylist()


def _row_count(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def id_batches(path: Path):
    """The ``id`` column of a parquet file as lists of at most :data:`ID_BATCH_ROWS` ids (bounded memory)."""
    batches = cache.read_batches(path, columns=["id"], batch_size=ID_BATCH_ROWS)
    return (batch.column(0).to_pylist() for batch in batches)


def sample_step(recipe: Recipe, source: Source, previous: StepResult, root: Path) -> StepResult:
    """The source's declared sample taken before dedup (a copy without the stratum column otherwise)."""
    spec = source.sample if source.sample and source.sample.stage == "before_dedup" else None
    entry_key = cache.key("sample", previous.key, spec and [spec.n, spec.stratify], recipe.seed)
    entry = cache.Entry(root / "sample", source.name, entry_key)
    if hit := _cached("sample", source.name, entry, entry_key):
        return hit
    started = time.perf_counter()
    if spec is None:
        mask = np.ones(_row_count(previous.path), dtype=bool)
    else:
        strata = _column(previous.path, STRATUM) if spec.stratify else None
        item_hashes = hashes(id_batches(previous.path), recipe.seed, f"sample:{source.name}")
        mask = sample_mask(item_hashes, strata, spec.n, spec.stratify)
    path, kept = _filter_by_mask(previous.path, entry.data, mask, RECORD_SCHEMA, recipe.batch_size)
    dropped = {"sampled_out": len(mask) - kept} if len(mask) - kept else {}
    return _finish(StepResult("sample", source.name, path, entry_key, len(mask), kept, dropped), entry, started)


def dedup_entries(ordered: list[tuple[Source, StepResult]], root: Path) -> list[tuple[str, cache.Entry]]:
    """The cache key and entry of each source's dedup output, in load order.

    A source that checks the seen-set depends on every earlier source that adds to it, so
    its key covers theirs; sources that do not check depend only on their own input.
    """
    entries, adders = [], []
    for source, previous in ordered:
        check = source.dedup == "check_add"
        entry_key = cache.key("dedup", previous.key, source.dedup, adders if check else [])
        entries.append((entry_key, cache.Entry(root / "dedup", source.name, entry_key)))
        if source.dedup in ("check_add", "add"):
            adders.append(previous.key)
    return entries


def write_dedup(recipe: Recipe, source: Source, previous: StepResult, entry_key: str, entry: cache.Entry,
                mask: np.ndarray, started: float) -> StepResult:
    """Write the rows of ``previous`` that ``mask`` keeps as the source's dedup output."""
    path, kept = _filter_by_mask(previous.path, entry.data, mask, RECORD_SCHEMA, recipe.batch_size)
    dropped = {"duplicate": len(mask) - kept} if len(mask) - kept else {}
    return _finish(StepResult("dedup", source.name, path, entry_key, len(mask), kept, dropped), entry, started)


def dedup_step(recipe: Recipe, ordered: list[tuple[Source, StepResult]], root: Path, memory_budget: int) -> list[StepResult]:
    """Priority dedup over all sources in load order with one seen-set; one result per source."""
    seen = SeenSet(memory_budget=memory_budget, spill_dir=root / "dedup" / "spill")
    results = []
    for (source, previous), (entry_key, entry) in zip(ordered, dedup_entries(ordered, root)):
        check, add = source.dedup == "check_add", source.dedup in ("check_add", "add")
        started = time.perf_counter()
        if check or add:  # the seen-set must learn this source's ids, cached or not
            masks = [seen.filter(ids, check=check, add=add) for ids in id_batches(previous.path)]
            mask = np.concatenate(masks) if masks else np.ones(0, dtype=bool)
        else:
            mask = np.ones(_row_count(previous.path), dtype=bool)
        hit = _cached("dedup", source.name, entry, entry_key)
        results.append(hit or write_dedup(recipe, source, previous, entry_key, entry, mask, started))
    return results


def trim_step(recipe: Recipe, cfg: SourceConfig, source: Source, previous: StepResult, root: Path) -> StepResult:
    """The sample declared after dedup, then the cap (``threshold`` rows or more -> ``keep``)."""
    spec = source.sample if source.sample and source.sample.stage == "after_dedup" else None
    cap = recipe.cap if recipe.cap.enabled and cfg.cap else None
    entry_key = cache.key("trim", previous.key, spec and [spec.n, spec.stratify], cap and cap.model_dump(),
                          recipe.seed)
    entry = cache.Entry(root / "trim", source.name, entry_key)
    if hit := _cached("trim", source.name, entry, entry_key):
        return hit
    started = time.perf_counter()
    rows = _row_count(previous.path)
    mask = np.ones(rows, dtype=bool)
    dropped = {}
    if spec is not None and rows > spec.n:
        mask = sample_mask(hashes(id_batches(previous.path), recipe.seed, f"sample:{source.name}"), None, spec.n,
                           None)
        dropped["sampled_out"] = rows - spec.n
    remaining = int(mask.sum())
    if cap is not None and remaining >= cap.threshold:
        index = np.flatnonzero(mask)
        cap_hashes = hashes(id_batches(previous.path), recipe.seed, f"cap:{source.name}")[index]
        mask = np.zeros(rows, dtype=bool)
        mask[index[lowest(cap_hashes, cap.keep)]] = True
        dropped["capped"] = remaining - cap.keep
    path, kept = _filter_by_mask(previous.path, entry.data, mask, RECORD_SCHEMA, recipe.batch_size)
    return _finish(StepResult("trim", source.name, path, entry_key, rows, kept, dropped), entry, started)


def decontam_entry(recipe: Recipe, source: Source, previous: StepResult, root: Path) -> tuple[str, cache.Entry]:
    """The cache key and entry of a source's decontaminated output."""
    entry_key = cache.key("decontam", previous.key, recipe.decontamination.model_dump(mode="json"))
    return entry_key, cache.Entry(root / "decontam", source.name, entry_key)


def cached_decontam(source: Source, entry_key: str, entry: cache.Entry) -> StepResult | None:
    """The cached decontam result, if complete."""
    hit = _cached("decontam", source.name, entry, entry_key)
    if hit:
        hit.extra["removals"] = str(entry.data.with_suffix(".removals.jsonl"))
    return hit


def write_decontam(source: Source, previous: StepResult, entry_key: str, entry: cache.Entry, tables,
                   removed: list[dict], started: float, threshold: float | None = None) -> StepResult:
    """Write the kept records (``tables``, consumed here, filling ``removed``) and the removals; none of
    the records when the source's coverage of some benchmark is above ``threshold``."""
    kept = cache.write_parquet(entry.data, RECORD_SCHEMA, tables)
    dropped_whole = over_threshold(removed, threshold)
    if dropped_whole:  # the source holds too much of a benchmark: none of it is kept
        logger.warning("source %s dropped: holds %.2f%% of a benchmark's items (drop_source_above %s)",
                       source.name, 100 * dropped_whole[source.name], threshold)
        cache.write_parquet(entry.data, RECORD_SCHEMA, [])
    removals_path = entry.data.with_suffix(".removals.jsonl")
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in removed)
    cache.atomic_write_bytes(removals_path, lines.encode())
    by_benchmark = Counter(f"contaminated:{r['benchmark']}" for r in removed)
    if dropped_whole:
        by_benchmark["source_over_coverage"], kept = kept, 0
    result = StepResult("decontam", source.name, entry.data, entry_key, previous.kept, kept, dict(by_benchmark))
    result = _finish(result, entry, started)
    result.extra["removals"] = str(removals_path)
    return result


def decontam_step(recipe: Recipe, source: Source, previous: StepResult, root: Path, decontaminator) -> StepResult:
    """Drop records that match a benchmark item; removals go to a ``.removals.jsonl`` beside the output."""
    entry_key, entry = decontam_entry(recipe, source, previous, root)
    if hit := cached_decontam(source, entry_key, entry):
        return hit
    started = time.perf_counter()
    removed: list[dict] = []

    def tables():
        batches = cache.read_batches(previous.path, columns=RECORD_SCHEMA.names, batch_size=recipe.batch_size)
        for batch in progress_batches(batches, desc=f"decontam {source.name}"):
            if not recipe.decontamination.enabled:
                yield pa.Table.from_batches([batch])
                continue
            kept, removals = decontaminator().filter_batch(batch)
            removed.extend(removals)
            yield kept

    return write_decontam(source, previous, entry_key, entry, tables(), removed, started,
                          recipe.decontamination.drop_source_above)


def with_sft_copies(table: pa.Table) -> pa.Table:
    """Preference records that also carry a chat (airoboros rewrites) are SFT rows too: add those copies."""
    dual = pc.and_(pc.equal(table["kind"], "dpo"), pc.invert(pc.is_null(table["conversations"])))
    dual = pc.fill_null(dual, False)
    if not pc.any(dual).as_py():
        return table
    copies = table.filter(dual)
    nulls = pa.nulls(copies.num_rows, pa.string())
    copies = copies.set_column(copies.schema.get_field_index("kind"), "kind", pa.array(["sft"] * copies.num_rows))
    for name in ("prompt", "chosen", "rejected"):
        copies = copies.set_column(copies.schema.get_field_index(name), name, nulls)
    return pa.concat_tables([table, copies])


def render_entries(recipe: Recipe, source: Source, previous: StepResult, root: Path, ids_key: str):
    """The cache key and the (sft, dpo) entries of a source's rendered rows."""
    entry_key = cache.key("render", previous.key, recipe.format.model_dump(mode="json"), recipe.seed, ids_key)
    return (entry_key, cache.Entry(root / "render", f"{source.name}.sft", entry_key),
            cache.Entry(root / "render", f"{source.name}.dpo", entry_key))


def cached_render(source: Source, entry_key: str, sft_entry: cache.Entry, dpo_entry: cache.Entry):
    """The cached render result, if complete."""
    hit = _cached("render", source.name, dpo_entry, entry_key)
    if hit:
        hit.extra.update(sft=str(sft_entry.data), dpo=str(dpo_entry.data))
    return hit


def write_render(source: Source, entry_key: str, sft_entry: cache.Entry, dpo_entry: cache.Entry, rendered,
                 started: float) -> StepResult:
    """Write rendered ``(rows_in, sft, dpo, dropped)`` tuples (consumed here) as the two cached files."""
    from bagel.formats import DPO_SCHEMA, SFT_SCHEMA

    sft_sink = cache.ParquetSink(sft_entry.data, SFT_SCHEMA)
    dpo_sink = cache.ParquetSink(dpo_entry.data, DPO_SCHEMA)
    dropped: Counter = Counter()
    rows_in = 0
    for batch_rows, sft, dpo, bad in rendered:
        rows_in += batch_rows
        sft_sink.write(sft)
        dpo_sink.write(dpo)
        dropped.update(bad)
    sft_sink.close()
    dpo_sink.close()
    sft_entry.save_meta({"in": rows_in, "kept": sft_sink.rows, "dropped": {}, "seconds": 0, "extra": {}})
    result = StepResult("render", source.name, dpo_entry.data, entry_key, rows_in, rows_in - sum(dropped.values()),
                        dict(dropped), extra={"sft_rows": sft_sink.rows, "dpo_rows": dpo_sink.rows})
    result = _finish(result, dpo_entry, started)
    result.extra.update(sft=str(sft_entry.data), dpo=str(dpo_entry.data))
    return result


def render_step(recipe: Recipe, source: Source, previous: StepResult, root: Path, renderer, ids_key: str):
    """Render one source's records into SFT and DPO training rows (two cached files)."""
    entry_key, sft_entry, dpo_entry = render_entries(recipe, source, previous, root, ids_key)
    if hit := cached_render(source, entry_key, sft_entry, dpo_entry):
        return hit
    started = time.perf_counter()
    rendered = (
        (batch.num_rows, *renderer().render_batch(with_sft_copies(pa.Table.from_batches([batch]))))
        for batch in progress_batches(
            cache.read_batches(previous.path, columns=RECORD_SCHEMA.names, batch_size=recipe.batch_size),
            desc=f"render {source.name}",
        )
    )
    return write_render(source, entry_key, sft_entry, dpo_entry, rendered, started)
