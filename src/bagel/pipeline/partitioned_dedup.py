"""Priority dedup without a central collection of ids: the ids are hash-partitioned.

1. per source and per exclude set (a task): the 64-bit hash of each id (:func:`bagel.dedup.id_hashes`,
   the local seen-set's hash) and its row, split by ``hash % partitions`` into one file per partition;
2. per partition (a task): the (hash, row) pairs of every source that checks or adds, sorted by
   (hash, load position, row). The priority rule: the first row of each hash is kept, later rows are
   dropped unless their source only adds (``dedup: add``); then a kept row (of any source) whose id an
   exclude set holds is dropped as ``excluded:<set>`` (the first such set). The rows dropped, with
   why, are written per source;
3. per source (a task): its keep-mask from the partitions' drop files, and its dedup output
   (:func:`bagel.pipeline.steps.write_dedup`).

Every task reads and writes files under ``cache/dedup/partitions/`` in the out dir and returns counts
only, so no process holds more than one partition's ids, or one source's keep-mask. The keep-masks
and counts equal the local engine's (same hashes, same rule). With near dedup on, the near pass runs
between steps 2 and 3 in tasks of its own (:func:`partitioned_near`: band keys partitioned the same
way), and step 3 drops its copies too.
"""

from __future__ import annotations

import io
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bagel.atomic import atomic_write_bytes
from bagel.config import Recipe
from bagel.dedup import id_hashes
from bagel.pipeline import cache
from bagel.pipeline.near import (copies_to_files, exclude_records, shared_partition, source_near_drops,
                                 split_band_keys, taking_part)
from bagel.pipeline.result import StepResult
from bagel.pipeline.steps import cached_dedups, id_batches, write_dedup
from bagel.sources.base import Source

DUPLICATE = -1  # the reason code of an exact duplicate; k >= 0: excluded by exclude set k


def _save(path: Path, array: np.ndarray) -> None:
    """``np.save``, written atomically."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(path, buffer.getvalue())


def split_ids(path: str, label: str, partitions: int, folder: str) -> list[int]:
    """Step 1 for one source (``label``: its load position) or exclude set (``x<k>``): its (hash, row) pairs
    per partition; rows per partition."""
    hashes, start = [], 0
    for ids in id_batches(Path(path)):
        hashes.append(id_hashes(ids))
        start += len(ids)
    hashes_all = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    rows_all = np.arange(start, dtype=np.uint64)
    which = hashes_all % np.uint64(partitions)
    counts = []
    for part in range(partitions):
        chosen = which == part
        _save(Path(folder) / f"ids.{label}.{part}.npy", np.stack([hashes_all[chosen], rows_all[chosen]]))
        counts.append(int(chosen.sum()))
    return counts


def _pairs(folder: str, label: str, part: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.load(Path(folder) / f"ids.{label}.{part}.npy")
    return pairs[0], pairs[1].view(np.int64)


def dedup_partition(folder: str, part: int, policies: list[str], exclude_sets: int) -> int:
    """Step 2 for one partition: the priority rule, then the exclude sets; rows dropped."""
    members = [pos for pos, policy in enumerate(policies) if policy != "none" or exclude_sets]
    hashes, positions, rows = [], [], []
    for pos in members:
        hashes_pos, rows_pos = _pairs(folder, str(pos), part)
        hashes.append(hashes_pos)
        rows.append(rows_pos)
        positions.append(np.full(len(rows_pos), pos, dtype=np.int32))
    hash_all = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    pos_all = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int32)
    row_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    order = np.lexsort((row_all, pos_all, hash_all))
    hash_all, pos_all, row_all = hash_all[order], pos_all[order], row_all[order]
    reason = np.full(len(hash_all), DUPLICATE - 1, dtype=np.int32)  # DUPLICATE - 1: kept
    adds = np.array([policy != "none" for policy in policies], dtype=bool)[pos_all]
    only_adds = np.array([policy == "add" for policy in policies], dtype=bool)[pos_all]
    adding = np.flatnonzero(adds)  # the seen-set: a row is seen when an earlier adding row has its hash
    first = np.r_[True, hash_all[adding][1:] != hash_all[adding][:-1]] if len(adding) else np.zeros(0, dtype=bool)
    reason[adding[~first & ~only_adds[adding]]] = DUPLICATE
    for k in reversed(range(exclude_sets)):  # the first set holding an id names the drop
        held = np.unique(_pairs(folder, f"x{k}", part)[0])
        found = np.isin(hash_all, held) & (reason != DUPLICATE)
        reason[found] = k
    for pos in members:
        dropped = (pos_all == pos) & (reason >= DUPLICATE)
        _save(Path(folder) / f"drop.{pos}.{part}.npy", np.stack([row_all[dropped], reason[dropped].astype(np.int64)]))
    return int((reason >= DUPLICATE).sum())


def source_drops(recipe: Recipe, source: Source, previous: StepResult, folder: str, pos: int,
                 partitions: int) -> tuple[np.ndarray, dict]:
    """One source's keep-mask from the partitions' drop files, and its drops other than exact duplicates."""
    mask = np.ones(cache.row_count(previous.path), dtype=bool)
    dropped: Counter = Counter()
    if source.dedup != "none" or recipe.exclude:
        for part in range(partitions):
            rows, reasons = np.load(Path(folder) / f"drop.{pos}.{part}.npy")
            mask[rows] = False
            dropped.update(f"excluded:{recipe.exclude[k].name}" for k in reasons[reasons >= 0].tolist())
    return mask, dict(dropped)


def split_source(recipe: Recipe, ordered: list, pos: int, folder: str, partitions: int, exclude_sets: int) -> int:
    """Near pass, for one source (a task): the band keys of its rows that step 2 kept
    (:func:`bagel.pipeline.near.split_band_keys`)."""
    source, previous = ordered[pos]
    live, _ = source_drops(recipe, source, previous, folder, pos, partitions)
    return split_band_keys(str(previous.path), exclude_sets + pos, live, recipe, str(Path(folder) / "near"),
                           partitions, threads=1)


def partitioned_near(recipe: Recipe, ordered: list, folder: Path, partitions: int, excluded: list[Path],
                     run: Callable[[Callable, list[tuple]], list]) -> None:
    """The near pass between steps 2 and 3, in ``partitions`` band-key partitions under ``folder/near``: each
    file's band keys split by partition (a task per exclude set and per source), the shared keys of each
    partition (a task each), the copies in load order (one task, over the rows sharing a key only),
    written per source for step 3. Tasks return counts: no process holds another source's mask or more
    than one partition's keys. A task makes signatures on one thread (it holds one CPU)."""
    near_folder = folder / "near"
    shutil.rmtree(near_folder, ignore_errors=True)
    near_folder.mkdir(parents=True)
    numbers = taking_part(recipe, ordered, len(excluded))
    run(split_band_keys, [(str(excluded[n]), n, None, recipe, str(near_folder), partitions, 1)
                          for n in numbers if n < len(excluded)])
    run(split_source, [(recipe, ordered, n - len(excluded), str(folder), partitions, len(excluded))
                       for n in numbers if n >= len(excluded)])
    run(shared_partition, [(str(near_folder), part) for part in range(partitions)])
    run(copies_to_files, [(recipe, ordered, str(folder), partitions, len(excluded))])


def write_source(recipe: Recipe, source: Source, previous: StepResult, entry_key: str, entry: cache.Entry,
                 folder: str, pos: int, partitions: int, ordered: list | None = None,
                 excluded: list[Path] = ()) -> StepResult:
    """Step 3 for one source: drop the rows the partitions dropped (and, given ``ordered`` and the exclude
    sets' records, the near pass's copies) and write its dedup output."""
    started = time.perf_counter()
    mask, dropped = source_drops(recipe, source, previous, folder, pos, partitions)
    removals = []
    if ordered is not None:
        mask, dropped, removals = source_near_drops(recipe, ordered, pos, folder, excluded, mask, dropped)
    return write_dedup(recipe, source, previous, entry_key, entry, mask, started, dropped, removals)


def partitioned_dedup(recipe: Recipe, ordered: list[tuple[Source, StepResult]], root: Path, partitions: int,
                      run: Callable[[Callable, list[tuple]], list]) -> list[StepResult]:
    """Priority dedup over ``ordered`` (load order) in ``partitions`` hash partitions, each step's tasks run by
    ``run(function, argument tuples)`` (an executor's map); one result per source, as the local engine gives
    (with near dedup on, its pass in the same partitions)."""
    entries, results = cached_dedups(recipe, ordered, root)
    if all(results):
        return results
    folder = root / "dedup" / "partitions" / cache.key([key for key, _ in entries], partitions)
    folder.mkdir(parents=True, exist_ok=True)
    policies = [source.dedup for source, _ in ordered]
    excluded = run(exclude_records, [(e, root, recipe.batch_size) for e in recipe.exclude])
    members = [pos for pos, policy in enumerate(policies) if policy != "none" or excluded]
    run(split_ids, [(str(ordered[pos][1].path), str(pos), partitions, str(folder)) for pos in members]
        + [(str(path), f"x{k}", partitions, str(folder)) for k, path in enumerate(excluded)])
    run(dedup_partition, [(str(folder), part, policies, len(excluded)) for part in range(partitions)])
    todo = [pos for pos, hit in enumerate(results) if hit is None]
    near = recipe.dedup.near.enabled
    if near:
        partitioned_near(recipe, ordered, folder, partitions, excluded, run)
    written = run(write_source, [(recipe, *ordered[pos], *entries[pos], str(folder), pos, partitions,
                                  *((ordered, excluded) if near else ())) for pos in todo])
    for pos, result in zip(todo, written):
        results[pos] = result
    shutil.rmtree(folder, ignore_errors=True)
    return results
