"""The mix step: weighted sources get their share of ``mix: {rows: N}`` or ``mix: {tokens: N}``.

Runs after decontamination, over all sources at once (the shares depend on what every weighted
source has left). Each weighted source keeps its rows with the lowest hash of (seed, ``mix:<source>``,
id), so the choice depends only on the seed and the ids. A source that cannot fill its share gives
what it has and the rest is shared out over the others by weight (water-filling), unless it sets
``oversample: true``: then whole passes over its rows are repeated, and the remainder is taken in
hash order (counted as ``oversampled``). Sources without a weight pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from bagel.config import Recipe, SourceConfig
from bagel.pipeline import cache
from bagel.pipeline.result import StepResult, cached_result, finish_result
from bagel.pipeline.steps import filter_by_mask, purpose_hashes
from bagel.records import RECORD_SCHEMA
from bagel.sources.base import Source
from bagel.tokens import TokenCounter, record_texts


def water_fill(weights: dict[str, float], available: dict[str, float], budget: float,
               oversample: dict[str, bool]) -> dict[str, float]:
    """Share ``budget`` over sources by weight; a source that has less than its share (and does not
    oversample) gets all it has, and the rest is shared again over the others by weight."""
    alloc: dict[str, float] = {}
    active = sorted(weights)
    remaining = float(budget)
    while active:
        total = sum(weights[n] for n in active)
        share = {n: remaining * weights[n] / total for n in active}
        short = [n for n in active if not oversample.get(n) and available[n] < share[n]]
        if not short:
            alloc.update(share)
            break
        for name in short:
            alloc[name] = float(available[name])
            remaining -= available[name]
        active = [n for n in active if n not in short]
    return alloc


def integer_shares(alloc: dict[str, float], limit: dict[str, float]) -> dict[str, int]:
    """Round ``alloc`` to integers that keep its (rounded) sum: largest remainders first, ties by name,
    never above ``limit``."""
    ints = {n: int(np.floor(v + 1e-9)) for n, v in alloc.items()}
    left = int(round(sum(alloc.values()))) - sum(ints.values())
    for name in sorted(alloc, key=lambda n: (-(alloc[n] - ints[n]), n)):
        if left <= 0:
            break
        if ints[name] < limit[name]:
            ints[name] += 1
            left -= 1
    return ints


def repeats_by_rows(order: np.ndarray, target: int) -> np.ndarray:
    """How often each row is taken for ``target`` rows: whole passes, then the first rows of ``order``."""
    counts = np.zeros(len(order), dtype=np.int64)
    if len(order):
        counts[:] = target // len(order)
        counts[order[: target % len(order)]] += 1
    return counts


def repeats_by_tokens(order: np.ndarray, lengths: np.ndarray, target: float) -> np.ndarray:
    """How often each row is taken for ``target`` tokens: whole passes while they fit, then rows in
    ``order`` while the running total stays within the target."""
    counts = np.zeros(len(order), dtype=np.int64)
    total = int(lengths.sum())
    if not len(order) or total == 0:
        return counts
    passes = int(target // total)
    counts[:] = passes
    rest = target - passes * total
    running = np.cumsum(lengths[order])
    counts[order[: int(np.searchsorted(running, rest, side="right"))]] += 1
    return counts


def row_lengths(path: Path, counter: TokenCounter, batch_size: int) -> np.ndarray:
    """The token (or word) count of every record of ``path``, in row order."""
    parts = [counter.count(record_texts(batch)) for batch in cache.read_batches(path, batch_size=batch_size)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def mix_step(recipe: Recipe, entries: list[tuple[SourceConfig, Source, StepResult]], root: Path) -> list[StepResult]:
    """One result per source: weighted sources cut (or repeated) to their share, the others unchanged."""
    weighted = [(cfg, src, prev) for cfg, src, prev in entries if cfg.weight is not None]
    passed = {src.name: passthrough(prev) for cfg, src, prev in entries if cfg.weight is None}
    if not weighted:
        return [passed[src.name] for _, src, _ in entries]
    spec = recipe.token_counter_spec()
    entry_key = cache.key("mix", recipe.mix.model_dump(), spec, recipe.seed,
                          [[src.name, cfg.weight, cfg.oversample, prev.key] for cfg, src, prev in weighted])
    cache_entries = {src.name: cache.Entry(root / "mix", src.name, entry_key) for _, src, _ in weighted}
    hits = {src.name: cached_result("mix", src.name, cache_entries[src.name], entry_key) for _, src, _ in weighted}
    if not all(hits.values()):
        hits = _run_mix(recipe, weighted, root, entry_key, cache_entries, TokenCounter(spec))
    return [hits.get(src.name) or passed[src.name] for _, src, _ in entries]


def passthrough(previous: StepResult) -> StepResult:
    """The mix result of a source without a weight: its input, unchanged (same key, so caches downstream hold)."""
    return dataclasses.replace(previous, step="mix", rows_in=previous.kept, dropped={}, seconds=0.0, extra={})


def _run_mix(recipe: Recipe, weighted: list, root: Path, entry_key: str, cache_entries: dict,
             counter: TokenCounter) -> dict[str, StepResult]:
    started = time.perf_counter()
    mix = recipe.mix
    weights = {src.name: cfg.weight for cfg, src, _ in weighted}
    oversample = {src.name: cfg.oversample for cfg, src, _ in weighted}
    lengths = {src.name: row_lengths(prev.path, counter, recipe.batch_size) for _, src, prev in weighted}
    orders = {src.name: np.lexsort((np.arange(len(lengths[src.name])),
                                    purpose_hashes(recipe, prev.path, "mix", src)))
              for _, src, prev in weighted}
    if mix.rows is not None:
        available = {name: len(values) for name, values in lengths.items()}
        limit = {n: (float("inf") if oversample[n] else available[n]) for n in available}
        targets = integer_shares(water_fill(weights, available, mix.rows, oversample), limit)
        counts = {n: repeats_by_rows(orders[n], targets[n]) for n in targets}
    else:
        available = {name: int(values.sum()) for name, values in lengths.items()}
        targets = water_fill(weights, available, mix.tokens, oversample)
        counts = {n: repeats_by_tokens(orders[n], lengths[n], targets[n]) for n in targets}
    total_weight = sum(weights.values())
    results = {}
    for _, src, prev in weighted:
        name, entry = src.name, cache_entries[src.name]
        rows_in, taken = len(lengths[name]), int(counts[name].sum())
        distinct = int(np.count_nonzero(counts[name]))
        path, kept = filter_by_mask(prev.path, entry.data, counts[name], RECORD_SCHEMA, recipe.batch_size)
        dropped = {"sampled_out": rows_in - distinct} if rows_in > distinct else {}
        extra = {"weight": weights[name], "requested_share": round(weights[name] / total_weight, 6),
                 "available_rows": rows_in, f"available_{counter.unit}": int(lengths[name].sum()),
                 counter.unit: int((counts[name] * lengths[name]).sum()), "oversampled": taken - distinct}
        result = StepResult("mix", name, path, entry_key, rows_in, kept, dropped, extra=extra)
        results[name] = finish_result(result, entry, started)
    return results


def mix_summary(recipe: Recipe, per_source: dict) -> dict | None:
    """The report's ``mix`` section: per weighted source, requested vs achieved share in rows and tokens."""
    if recipe.mix is None:
        return None
    mixed = {name: info["steps"]["mix"] for name, info in per_source.items() if "weight" in info["steps"]["mix"]}
    unit = "tokens" if recipe.token_counter_spec() else "words"
    rows_total = sum(step["kept"] for step in mixed.values()) or 1
    units_total = sum(step.get(unit, 0) for step in mixed.values()) or 1
    return {
        "budget": recipe.mix.model_dump(exclude_none=True),
        "unit": unit,
        "sources": {name: {"weight": step["weight"], "requested_share": step["requested_share"],
                           "rows": step["kept"], "row_share": round(step["kept"] / rows_total, 6),
                           unit: step.get(unit, 0), f"{unit[:-1]}_share": round(step.get(unit, 0) / units_total, 6),
                           "available_rows": step["available_rows"], "oversampled": step["oversampled"]}
                    for name, step in sorted(mixed.items())},
    }
