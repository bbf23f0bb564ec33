"""The build's steps, each one job, each reading and writing cached parquet and counting its drops.

Per source: ``convert`` (read, convert, validate, refusal filter) -> ``sample`` (before
dedup). Across sources, in load order: ``dedup`` (exact by id, then exclude sets and near
copies, in :mod:`bagel.pipeline.near`). Per source again: ``trim`` (sample after
dedup, then the cap). Per shard (row groups of the trimmed rows) ``decontam``, joined per source.
Across sources: ``mix`` (weighted shares, in :mod:`bagel.pipeline.mix`). Per shard (row groups of
the mixed rows) ``render``. Every step function returns a :class:`StepResult`; none holds more than
a batch of records in memory.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bagel.config import Recipe, SourceConfig
from bagel.dedup import SeenSet
from bagel.decontam.coverage import over_threshold
from bagel.log import logger, progress_batches
from bagel.pipeline import cache
from bagel.pipeline.result import StepResult
from bagel.pipeline.result import cached_result, combine, finish_result
from bagel.pipeline.sample import hashes, lowest, sample_mask
from bagel.records import RECORD_SCHEMA, STRATUM
from bagel.sources.base import Source

ID_BATCH_ROWS = 65536  # ids per batch where a step needs only the id column


def filter_by_mask(src: Path, dst: Path, mask, schema: pa.Schema, batch_size: int) -> tuple[Path, int]:
    """Copy the rows of ``src`` whose position is set in ``mask`` to ``dst`` (streamed): (path, rows kept).

    ``mask`` may also be integer counts: each row is then copied ``mask[row]`` times. When every
    row is kept once nothing is copied and ``src`` itself is returned.
    """
    if np.all(mask == 1):
        return src, len(mask)
    offset = 0

    def tables():
        nonlocal offset
        for batch in cache.read_batches(src, batch_size=batch_size):
            part = mask[offset : offset + batch.num_rows]
            offset += batch.num_rows
            table = pa.Table.from_batches([batch])
            if part.dtype == bool:
                yield table.filter(pa.array(part))
            else:
                yield table.take(pa.array(np.repeat(np.arange(len(part)), part)))

    return dst, cache.write_parquet(dst, schema, tables())


def _column(path: Path, name: str) -> list:
    return pq.read_table(path, columns=[name]).column(name).to_pylist()


def _row_count(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def id_batches(path: Path):
    """The ``id`` column of a parquet file as lists of at most :data:`ID_BATCH_ROWS` ids (bounded memory)."""
    batches = cache.read_batches(path, columns=["id"], batch_size=ID_BATCH_ROWS)
    return (batch.column(0).to_pylist() for batch in batches)


def purpose_hashes(recipe: Recipe, path: Path, purpose: str, source: Source) -> np.ndarray:
    """The per-item hashes of the ids of ``path`` for ``purpose`` (``sample``, ``cap``, ``mix``) of ``source``:
    which rows a sample, the cap or the mix keeps depends only on them."""
    return hashes(id_batches(path), recipe.seed, f"{purpose}:{source.name}")


def masked_step(step: str, recipe: Recipe, source: Source, previous: StepResult, root: Path, entry_key: str,
                masker) -> StepResult:
    """A step that keeps the rows of ``previous`` a mask selects: the cached result, else ``masker()`` gives
    (mask, drops by reason) and the kept rows are written."""
    entry = cache.Entry(root / step, source.name, entry_key)
    if hit := cached_result(step, source.name, entry, entry_key):
        return hit
    started = time.perf_counter()
    mask, dropped = masker()
    path, kept = filter_by_mask(previous.path, entry.data, mask, RECORD_SCHEMA, recipe.batch_size)
    return finish_result(StepResult(step, source.name, path, entry_key, len(mask), kept, dropped), entry, started)


def sample_step(recipe: Recipe, source: Source, previous: StepResult, root: Path) -> StepResult:
    """The source's declared sample taken before dedup (a copy without the stratum column otherwise)."""
    spec = source.sample if source.sample and source.sample.stage == "before_dedup" else None

    def masker():
        if spec is None:
            return np.ones(_row_count(previous.path), dtype=bool), {}
        strata = _column(previous.path, STRATUM) if spec.stratify else None
        mask = sample_mask(purpose_hashes(recipe, previous.path, "sample", source), strata, spec.n, spec.stratify)
        return mask, ({"sampled_out": len(mask) - int(mask.sum())} if not mask.all() else {})

    entry_key = cache.key("sample", previous.key, spec and [spec.n, spec.stratify], recipe.seed)
    return masked_step("sample", recipe, source, previous, root, entry_key, masker)


def dedup_entries(ordered: list[tuple[Source, StepResult]], root: Path,
                  recipe: Recipe) -> list[tuple[str, cache.Entry]]:
    """The cache key and entry of each source's dedup output, in load order.

    A source that checks the seen-set depends on every earlier source that adds to it, so
    its key covers theirs; sources that do not check depend only on their own input. With
    exclude sets or near dedup, every key covers those settings too.
    """
    from bagel.pipeline.near import dedup_spec, refining

    spec = dedup_spec(recipe) if refining(recipe) else None
    entries, adders = [], []
    for source, previous in ordered:
        check = source.dedup == "check_add"
        entry_key = cache.key("dedup", previous.key, source.dedup, adders if check else [], *([spec] if spec else []))
        entries.append((entry_key, cache.Entry(root / "dedup", source.name, entry_key)))
        if source.dedup in ("check_add", "add"):
            adders.append(previous.key)
    return entries


def cached_with_records(step: str, source: Source, entry_key: str, entry: cache.Entry, name: str,
                        suffix: str) -> StepResult | None:
    """The cached result of ``step``, if complete, with the path of the records it wrote beside its output
    (``<entry><suffix>``, JSON Lines) under ``extra[name]``."""
    hit = cached_result(step, source.name, entry, entry_key)
    if hit:
        hit.extra[name] = str(entry.data.with_suffix(suffix))
    return hit


def write_records(entry: cache.Entry, suffix: str, records: list[dict]) -> str:
    """Write ``records`` beside the output of ``entry`` (``<entry><suffix>``, JSON Lines); the path."""
    path = entry.data.with_suffix(suffix)
    cache.write_jsonl(path, records)
    return str(path)


def cached_dedup(source: Source, entry_key: str, entry: cache.Entry) -> StepResult | None:
    """The cached dedup result, if complete (with the path of its near-dup removals)."""
    return cached_with_records("dedup", source, entry_key, entry, "near_removals", ".near.jsonl")


def write_dedup(recipe: Recipe, source: Source, previous: StepResult, entry_key: str, entry: cache.Entry,
                mask: np.ndarray, started: float, dropped: dict | None = None,
                near_removals: list[dict] = ()) -> StepResult:
    """Write the rows of ``previous`` that ``mask`` keeps as the source's dedup output; drops not in
    ``dropped`` (exclusion, near copies) count as exact duplicates."""
    path, kept = filter_by_mask(previous.path, entry.data, mask, RECORD_SCHEMA, recipe.batch_size)
    dropped = dict(dropped or {})
    exact = len(mask) - kept - sum(dropped.values())
    if exact:
        dropped["duplicate"] = exact
    removals_path = write_records(entry, ".near.jsonl", list(near_removals))
    result = finish_result(StepResult("dedup", source.name, path, entry_key, len(mask), kept, dropped), entry, started)
    result.extra["near_removals"] = removals_path
    return result


def exact_masks(ordered: list[tuple[Source, StepResult]], root: Path, memory_budget: int) -> list[np.ndarray]:
    """Priority dedup by id over all sources in load order with one seen-set: a keep-mask per source."""
    seen = SeenSet(memory_budget=memory_budget, spill_dir=root / "dedup" / "spill")
    masks = []
    for source, previous in ordered:
        check, add = source.dedup == "check_add", source.dedup in ("check_add", "add")
        if check or add:
            parts = [seen.filter(ids, check=check, add=add) for ids in id_batches(previous.path)]
            masks.append(np.concatenate(parts) if parts else np.ones(0, dtype=bool))
        else:
            masks.append(np.ones(_row_count(previous.path), dtype=bool))
    return masks


def write_dedups(recipe: Recipe, ordered: list[tuple[Source, StepResult]], refined: list, root: Path,
                 started: float) -> list[StepResult]:
    """Each source's dedup output (cached ones reused) from its ``refined`` (mask, drops, near-drop records)."""
    entries = dedup_entries(ordered, root, recipe)
    results = []
    for (source, previous), (entry_key, entry), (mask, dropped, removals) in zip(ordered, entries, refined):
        hit = cached_dedup(source, entry_key, entry)
        results.append(hit or write_dedup(recipe, source, previous, entry_key, entry, mask, started, dict(dropped),
                                          removals))
    return results


def cached_dedups(recipe: Recipe, ordered: list[tuple[Source, StepResult]], root: Path) -> tuple[list, list]:
    """The dedup entries of ``ordered`` (:func:`dedup_entries`) and their cached results (None where missing)."""
    entries = dedup_entries(ordered, root, recipe)
    return entries, [cached_dedup(source, key, entry) for (source, _), (key, entry) in zip(ordered, entries)]


def dedup_step(recipe: Recipe, ordered: list[tuple[Source, StepResult]], root: Path, memory_budget: int) -> list[StepResult]:
    """Priority dedup over all sources in load order (exact, then exclusion and near); one result per source."""
    _, hits = cached_dedups(recipe, ordered, root)
    if all(hits):
        return hits
    from bagel.pipeline.near import refine, refining

    started = time.perf_counter()
    if refining(recipe):  # exclusion and near dedup after exact dedup
        refined = refine(recipe, ordered, lambda budget: exact_masks(ordered, root, budget), root, memory_budget)
    else:
        refined = [(mask, {}, []) for mask in exact_masks(ordered, root, memory_budget)]
    return write_dedups(recipe, ordered, refined, root, started)


def trim_step(recipe: Recipe, cfg: SourceConfig, source: Source, previous: StepResult, root: Path) -> StepResult:
    """The sample declared after dedup, then the cap (``threshold`` rows or more -> ``keep``).

    A source with a ``weight`` skips both: the mix step sizes it.
    """
    weighted = cfg.weight is not None
    spec = source.sample if source.sample and source.sample.stage == "after_dedup" and not weighted else None
    cap = recipe.cap if recipe.cap.enabled and cfg.cap and not weighted else None

    def masker():
        rows = _row_count(previous.path)
        mask = np.ones(rows, dtype=bool)
        dropped = {}
        if spec is not None and rows > spec.n:
            mask = sample_mask(purpose_hashes(recipe, previous.path, "sample", source), None, spec.n, None)
            dropped["sampled_out"] = rows - spec.n
        remaining = int(mask.sum())
        if cap is not None and remaining >= cap.threshold:
            index = np.flatnonzero(mask)
            cap_hashes = purpose_hashes(recipe, previous.path, "cap", source)[index]
            mask = np.zeros(rows, dtype=bool)
            mask[index[lowest(cap_hashes, cap.keep)]] = True
            dropped["capped"] = remaining - cap.keep
        return mask, dropped

    entry_key = cache.key("trim", previous.key, spec and [spec.n, spec.stratify], cap and cap.model_dump(),
                          recipe.seed)
    return masked_step("trim", recipe, source, previous, root, entry_key, masker)


def decontam_entry(recipe: Recipe, source: Source, previous: StepResult, root: Path) -> tuple[str, cache.Entry]:
    """The cache key and entry of a source's decontaminated output."""
    entry_key = cache.key("decontam", previous.key, recipe.decontamination.model_dump(mode="json"),
                          code=("bagel.decontam",))
    return entry_key, cache.Entry(root / "decontam", source.name, entry_key)


def cached_decontam(source: Source, entry_key: str, entry: cache.Entry) -> StepResult | None:
    """The cached decontam result (of a source or of a shard), if complete."""
    return cached_with_records("decontam", source, entry_key, entry, "removals", ".removals.jsonl")


def decontam_shard(recipe: Recipe, source: Source, previous: StepResult, root: Path, index: int,
                   row_groups: tuple[int, int], decontaminator) -> StepResult:
    """Drop the records of row groups ``[start, stop)`` of the source's trimmed rows that match a benchmark
    item; the kept rows, and the removals in a ``.removals.jsonl`` beside them (one shard of the step)."""
    source_key, _ = decontam_entry(recipe, source, previous, root)
    entry_key, entry = cache.shard_entry(root / "decontam", source.name, source_key, index, row_groups)
    if hit := cached_decontam(source, entry_key, entry):
        return hit
    started = time.perf_counter()
    removed: list[dict] = []
    rows_in = 0

    def tables():
        nonlocal rows_in
        batches = cache.read_batches(previous.path, RECORD_SCHEMA.names, recipe.batch_size, row_groups)
        for batch in progress_batches(batches, desc=f"decontam {source.name}"):
            rows_in += batch.num_rows
            if not recipe.decontamination.enabled:
                yield pa.Table.from_batches([batch])
                continue
            kept, removals = decontaminator().filter_batch(batch)
            removed.extend(removals)
            yield kept

    kept = cache.write_parquet(entry.data, RECORD_SCHEMA, tables())
    by_benchmark = Counter(f"contaminated:{r['benchmark']}" for r in removed)
    result = StepResult("decontam", source.name, entry.data, entry_key, rows_in, kept, dict(by_benchmark))
    result.extra["removals"] = write_records(entry, ".removals.jsonl", removed)
    return finish_result(result, entry, started)


def join_decontam(recipe: Recipe, source: Source, previous: StepResult, root: Path,
                  parts: list[StepResult]) -> StepResult:
    """The source's decontaminated output from its shards' (in order), with their removals; none of the
    records when the source's coverage of some benchmark is above ``drop_source_above``."""
    entry_key, entry = decontam_entry(recipe, source, previous, root)
    if hit := cached_decontam(source, entry_key, entry):
        return hit
    removed = [json.loads(line) for part in parts
               for line in Path(part.extra["removals"]).read_text(encoding="utf-8").splitlines() if line]
    result = combine("decontam", source.name, entry.data, entry_key, parts)
    started = time.perf_counter() - result.seconds
    threshold = recipe.decontamination.drop_source_above
    dropped_whole = over_threshold(removed, threshold)
    if dropped_whole:  # the source holds too much of a benchmark: none of it is kept
        logger.warning("source %s dropped: holds %.2f%% of a benchmark's items (drop_source_above %s)",
                       source.name, 100 * dropped_whole[source.name], threshold)
        cache.write_parquet(entry.data, RECORD_SCHEMA, [])
        result.dropped["source_over_coverage"], result.kept = result.kept, 0
    else:
        result.path = cache.join_files([part.path for part in parts], entry.data, RECORD_SCHEMA)
    result.extra["removals"] = write_records(entry, ".removals.jsonl", removed)
    return finish_result(result, entry, started)


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


def render_key(recipe: Recipe, previous: StepResult, ids_key: str) -> str:
    """The cache key of a source's rendered rows (each shard's key is made from it)."""
    return cache.key("render", previous.key, recipe.format.model_dump(mode="json"), recipe.seed, ids_key,
                     recipe.token_counter_spec(), code=("bagel.formats", "bagel.tokens"))


def render_shard(recipe: Recipe, source: Source, previous: StepResult, root: Path, index: int,
                 row_groups: tuple[int, int], renderer, ids_key: str, counter) -> StepResult:
    """Render row groups ``[start, stop)`` of a source's records into SFT and DPO training rows (two cached
    files, named in ``extra``; one shard of the step), counting their lengths as they are made (``extra``'s
    ``tokens``: :class:`~bagel.tokens.TokenStats` JSON, with ``counter()``'s tokenizer or words)."""
    from bagel.formats import DPO_SCHEMA, SFT_SCHEMA
    from bagel.tokens import TokenStats

    source_key = render_key(recipe, previous, ids_key)
    entry_key, sft_entry = cache.shard_entry(root / "render", source.name, source_key, index, row_groups, ".sft")
    _, dpo_entry = cache.shard_entry(root / "render", source.name, source_key, index, row_groups, ".dpo")
    hit = cached_result("render", source.name, dpo_entry, entry_key)
    if not hit:
        started = time.perf_counter()
        sft_sink = cache.ParquetSink(sft_entry.data, SFT_SCHEMA)
        dpo_sink = cache.ParquetSink(dpo_entry.data, DPO_SCHEMA)
        dropped: Counter = Counter()
        rows_in, lengths = 0, TokenStats()
        batches = cache.read_batches(previous.path, RECORD_SCHEMA.names, recipe.batch_size, row_groups)
        for batch in progress_batches(batches, desc=f"render {source.name}"):
            sft, dpo, bad = renderer().render_batch(with_sft_copies(pa.Table.from_batches([batch])))
            rows_in += batch.num_rows
            sft_sink.write(sft)
            dpo_sink.write(dpo)
            dropped.update(bad)
            for kind, table in (("sft", sft), ("dpo", dpo)):
                if table.num_rows:
                    lengths.add(kind, table, counter(), source.name)
        sft_sink.close()
        dpo_sink.close()
        result = StepResult("render", source.name, dpo_entry.data, entry_key, rows_in,
                            rows_in - sum(dropped.values()), dict(dropped),
                            extra={"sft_rows": sft_sink.rows, "dpo_rows": dpo_sink.rows, "tokens": lengths.to_json()})
        hit = finish_result(result, dpo_entry, started)  # the dpo file's entry completes the shard
    hit.extra.update(sft=[str(sft_entry.data)], dpo=[str(dpo_entry.data)])
    return hit


def join_render(parts: list[StepResult]) -> StepResult:
    """A source's render result from its shards' (in order): counts summed, their files listed in order
    (the build's ``sft.parquet`` and ``dpo.parquet`` are assembled from them); nothing is copied."""
    result = combine("render", parts[0].source, parts[-1].path, cache.key([p.key for p in parts]), parts)
    result.cached = all(p.cached for p in parts)
    result.extra = {name: sum(p.extra[name] for p in parts) for name in ("sft_rows", "dpo_rows")}
    result.extra.update({name: [f for p in parts for f in p.extra[name]] for name in ("sft", "dpo")})
    result.extra["tokens"] = merged_lengths(parts).to_json()
    return result


def merged_lengths(results: list[StepResult]):
    """The :class:`~bagel.tokens.TokenStats` of render results (shards or sources), merged."""
    from bagel.tokens import TokenStats

    merged = TokenStats()
    for result in results:
        merged.merge(TokenStats.from_json(result.extra["tokens"]))
    return merged
