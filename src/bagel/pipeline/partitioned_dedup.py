"""Priority dedup without a central collection of ids: the ids are hash-partitioned.

1. per source (a task): the 64-bit hash of each id (:func:`bagel.dedup.id_hashes`, the local
   seen-set's hash) and its row, split by ``hash % partitions`` into one file per partition;
2. per partition (a task): the (hash, row) pairs of every source that checks or adds, sorted by
   (hash, load position, row). The priority rule: the first row of each hash is kept, later rows
   are dropped unless their source only adds (``dedup: add``); the rows dropped are written per
   source;
3. per source (a task): its keep-mask from the partitions' drop files, and its dedup output
   (:func:`bagel.pipeline.steps.write_dedup`).

Every task reads and writes files under ``cache/dedup/partitions/`` in the out dir and returns
counts only, so no process holds more than one partition's ids, or one source's keep-mask. The
keep-masks equal the local seen-set's: the same hashes under the same rule.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bagel.config import Recipe
from bagel.dedup import id_hashes
from bagel.pipeline import cache
from bagel.pipeline.result import StepResult, cached_result
from bagel.pipeline.steps import dedup_entries, id_batches, write_dedup
from bagel.sources.base import Source


def _save(path: Path, array: np.ndarray) -> None:
    """``np.save`` through a temp file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)


def split_ids(path: str, pos: int, partitions: int, folder: str) -> list[int]:
    """Step 1 for the source at load position ``pos``: its (hash, row) pairs per partition; rows per partition."""
    hashes, rows, start = [], [], 0
    for ids in id_batches(Path(path)):
        hashes.append(id_hashes(ids))
        rows.append(np.arange(start, start + len(ids), dtype=np.int64))
        start += len(ids)
    hashes_all = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    rows_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    which = hashes_all % np.uint64(partitions)
    counts = []
    for part in range(partitions):
        chosen = which == part
        _save(Path(folder) / f"ids.{pos}.{part}.npy", np.stack([hashes_all[chosen], rows_all[chosen].view(np.uint64)]))
        counts.append(int(chosen.sum()))
    return counts


def dedup_partition(folder: str, part: int, policies: list[str]) -> int:
    """Step 2 for one partition: the priority rule over every checking or adding source; rows dropped."""
    hashes, positions, rows = [], [], []
    live = [pos for pos, policy in enumerate(policies) if policy != "none"]
    for pos in live:
        pairs = np.load(Path(folder) / f"ids.{pos}.{part}.npy")
        hashes.append(pairs[0])
        rows.append(pairs[1].view(np.int64))
        positions.append(np.full(pairs.shape[1], pos, dtype=np.int32))
    hash_all = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    pos_all = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int32)
    row_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    order = np.lexsort((row_all, pos_all, hash_all))
    hash_all, pos_all, row_all = hash_all[order], pos_all[order], row_all[order]
    first = np.r_[True, hash_all[1:] != hash_all[:-1]] if len(hash_all) else np.zeros(0, dtype=bool)
    adds_only = np.array([policy == "add" for policy in policies], dtype=bool)
    keep = first | adds_only[pos_all] if len(pos_all) else first
    for pos in live:
        _save(Path(folder) / f"drop.{pos}.{part}.npy", np.sort(row_all[~keep & (pos_all == pos)]))
    return int((~keep).sum())


def write_source(recipe: Recipe, source: Source, previous: StepResult, entry_key: str, entry: cache.Entry,
                 folder: str, pos: int, partitions: int) -> StepResult:
    """Step 3 for one source: drop the rows the partitions dropped and write its dedup output."""
    started = time.perf_counter()
    rows = cache.row_count(previous.path)
    mask = np.ones(rows, dtype=bool)
    if source.dedup != "none":
        for part in range(partitions):
            mask[np.load(Path(folder) / f"drop.{pos}.{part}.npy")] = False
    return write_dedup(recipe, source, previous, entry_key, entry, mask, started)


def partitioned_dedup(recipe: Recipe, ordered: list[tuple[Source, StepResult]], root: Path, partitions: int,
                      run: Callable[[Callable, list[tuple]], list]) -> list[StepResult]:
    """Priority dedup over ``ordered`` (load order) in ``partitions`` hash partitions, each step's tasks run by
    ``run(function, argument tuples)`` (an executor's map); one result per source, as the seen-set gives."""
    entries = dedup_entries(ordered, root)
    results = [cached_result("dedup", source.name, entry, key) for (source, _), (key, entry) in zip(ordered, entries)]
    if all(results):
        return results
    folder = root / "dedup" / "partitions" / cache.key([key for key, _ in entries], partitions)
    folder.mkdir(parents=True, exist_ok=True)
    policies = [source.dedup for source, _ in ordered]
    live = [pos for pos, policy in enumerate(policies) if policy != "none"]
    run(split_ids, [(str(ordered[pos][1].path), pos, partitions, str(folder)) for pos in live])
    run(dedup_partition, [(str(folder), part, policies) for part in range(partitions)])
    todo = [pos for pos, hit in enumerate(results) if hit is None]
    written = run(write_source, [(recipe, *ordered[pos], *entries[pos], str(folder), pos, partitions) for pos in todo])
    for pos, result in zip(todo, written):
        results[pos] = result
    shutil.rmtree(folder, ignore_errors=True)
    return results
