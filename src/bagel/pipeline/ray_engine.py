"""The Ray executor: the units of :mod:`bagel.pipeline.tasks`, the same the local executor runs, as Ray tasks.

- convert: one task per shard of every source (files, parquet row groups); join + sample: one
  task per source;
- dedup: ids hash-partitioned (:mod:`bagel.pipeline.partitioned_dedup`): one task per source and
  per exclude set splits its id hashes, one task per partition applies the priority rule and the
  exclude sets, one task per source writes its output; no process holds all ids. Near dedup:
  band keys of every live row in a Ray Data map (per parquet row group), ``groupby`` band key, and
  only the keys several rows share go to one Ray task that applies the local rules in load order;
- mix (weighted shares, a global choice over hashes and lengths): one task;
- trim: one task per source; decontam: one task per shard (row groups of the trimmed rows; the
  benchmark indexes are built by one task first, then loaded by every worker from the step cache),
  then one task per source joins its shards; render: one task per shard of the mixed rows.

Every task reads its inputs from and writes its output to the step cache in the out dir, and
returns only counts and paths: the driver carries no rows. The outputs are then assembled in load
order from those files, so they are byte for byte the local engine's.

Ray is started locally with ``--workers`` CPUs, listening on a loopback address only, unless
``RAY_ADDRESS`` names a cluster (``ray start --head`` on one node, ``ray start --address=HEAD:PORT``
on the others); the out dir must then be on storage that every node sees at the same path (NFS,
a mounted bucket), and every node needs bagel installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bagel import log
from bagel.config import Recipe
from bagel.memory import use_returning_memory_pool
from bagel.pipeline.partitioned_dedup import partitioned_dedup
from bagel.pipeline.tasks import run_steps

LOCAL_NODE_IP = "127.0.0.2"  # where a build-started Ray listens
_CONFIGURED: list[bool] = []


def _start(workers: int):
    import ray

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        # Without RAY_ADDRESS the build starts a Ray of its own ("local": never whatever cluster a past
        # `ray start` left recorded in /tmp/ray) that listens on a loopback address only; Ray rewrites
        # 127.0.0.1 to the machine's interface address, so another address of the loopback range is used.
        local = {} if address else {"address": "local", "num_cpus": workers, "_node_ip_address": LOCAL_NODE_IP}
        ray.init(**({"address": address} | local), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    context = ray.data.DataContext.get_current()  # the near pass runs on Ray Data
    context.enable_progress_bars = not log.is_quiet()
    return ray


def _call(quiet: bool, fn: Callable, *args):
    """Run one unit in a Ray worker (the worker's logging and memory pool set up at its first unit)."""
    if not _CONFIGURED:
        log.configure(quiet)
        use_returning_memory_pool()
        _CONFIGURED.append(True)
    return fn(*args)


def _mapper(ray) -> Callable:
    """An executor map over Ray tasks: ``fn(*args)`` for each args, one CPU each, results in order."""
    remote = ray.remote(num_cpus=1)(_call)
    quiet = log.is_quiet()

    def run(fn: Callable, args: list[tuple]) -> list:
        return ray.get([remote.remote(quiet, fn, *a) for a in args])

    return run


def _near_keys(tasks: dict, recipe: Recipe) -> dict:
    """A map_batches function: band keys of the live rows of the row groups in ``tasks`` (one row per band
    key: key, ref of its row)."""
    from bagel.near_dedup import NearIndex, key_texts
    from bagel.pipeline.near import FILE_SHIFT, KEY_COLUMNS

    near = recipe.dedup.near
    index = NearIndex(near.threshold, near.num_perm, near.ngram)
    keys_out, refs_out = [], []
    for number, path, group, offset, live in zip(tasks["file"], tasks["path"], tasks["group"], tasks["offset"],
                                                 tasks["live"]):
        table = pq.ParquetFile(path).read_row_group(int(group), columns=KEY_COLUMNS)
        rows = np.flatnonzero(np.unpackbits(np.frombuffer(live, dtype=np.uint8), count=table.num_rows))
        if not len(rows):
            continue
        keys, has = index.keys(key_texts(table.take(rows)))
        refs = (int(number) << FILE_SHIFT) | (int(offset) + rows[has])
        keys_out.append(keys[has].reshape(-1).view(np.int64))
        refs_out.append(np.repeat(refs, keys.shape[1]))
    empty = np.zeros(0, dtype=np.int64)
    return {"key": np.concatenate(keys_out) if keys_out else empty, "ref": np.concatenate(refs_out) if refs_out else empty}


def _shared_keys(group: pa.Table) -> pa.Table:
    """The members of a band-key group that more than one row shares (others cannot be near copies)."""
    return group if group.num_rows > 1 else group.slice(0, 0)


def _resolve_near(recipe: Recipe, ordered: list, files: list[Path], masks: list[np.ndarray], dropped: list,
                  members: list) -> list:
    """The near pass in load order over the rows that share a band key (a Ray task): exclusion by near copy,
    then near duplicates, by the local engine's rules; per source (mask, drops, near-drop records)."""
    import ray

    from bagel.pipeline.near import FILE_SHIFT, drop_reason, removal_records

    table = pa.concat_tables(ray.get(members)) if members else None
    names = [e.name for e in recipe.exclude]
    masks = [mask.copy() for mask in masks]  # arrays from the object store are read-only
    drops: list[list] = [[] for _ in ordered]
    if table is not None and table.num_rows:
        refs, keys = table["ref"].to_numpy(), table["key"].to_numpy()
        order = np.lexsort((keys, refs))
        refs, keys = refs[order], keys[order]
        starts = np.flatnonzero(np.r_[True, refs[1:] != refs[:-1]])
        kept: dict[int, int] = {}  # band key -> smallest ref of a kept row that adds it
        excluded: dict[int, int] = {}  # band key -> smallest ref of an exclude-set row
        for start, stop in zip(starts, np.r_[starts[1:], len(refs)]):
            ref, row_keys = int(refs[start]), keys[start:stop].tolist()
            number = ref >> FILE_SHIFT
            if number < len(names):
                for k in row_keys:
                    excluded.setdefault(k, ref)
                continue
            pos, row = number - len(names), ref & ((1 << FILE_SHIFT) - 1)
            policy = ordered[pos][0].dedup
            copies = [excluded[k] for k in row_keys if k in excluded]
            if not copies and policy == "check_add":
                copies = [kept[k] for k in row_keys if k in kept]
            if copies:
                masks[pos][row] = False
                dropped[pos][drop_reason(names, min(copies))] += 1
                drops[pos].append((ref, min(copies)))
            elif policy in ("check_add", "add"):
                for k in row_keys:
                    kept.setdefault(k, ref)
    return removal_records(names, ordered, files, list(zip(masks, dropped, drops)))


def _refine(ray, recipe: Recipe, ordered: list, masks: list[np.ndarray], dropped: list,
            excluded: list[Path]) -> object:
    """Near dedup partitioned by LSH band key: band keys of live rows in a Ray Data map (per parquet row
    group), grouped by key; only keys shared by several rows reach the sequential pass (one Ray task)."""
    files = excluded + [prev.path for _, prev in ordered]
    from bagel.pipeline.near import near_exempt

    exempt = near_exempt(recipe)  # their rows take no part in the near pass: none of them is live there
    lives = [None] * len(excluded) + [np.zeros_like(mask) if source.name in exempt else mask
                                      for (source, _), mask in zip(ordered, masks)]
    tasks = []
    for number, (path, live) in enumerate(zip(files, lives)):
        meta, offset = pq.ParquetFile(path).metadata, 0
        for group in range(meta.num_row_groups):
            n = meta.row_group(group).num_rows
            part = np.ones(n, dtype=bool) if live is None else live[offset: offset + n]
            tasks.append({"file": number, "path": str(path), "group": group, "offset": offset,
                          "live": np.packbits(part).tobytes()})
            offset += n
    members = []
    if tasks and recipe.dedup.near.enabled:
        members = (ray.data.from_items(tasks)
                   .map_batches(_near_keys, fn_kwargs={"recipe": recipe}, batch_size=4, batch_format="numpy")
                   .groupby("key").map_groups(_shared_keys, batch_format="pyarrow").to_arrow_refs())
    return ray.remote(_resolve_near).remote(recipe, ordered, files, masks, dropped, members)


def execute_ray(recipe: Recipe, names: list[str], root: Path, workers: int, memory_budget: int) -> tuple:
    """Run every step as Ray tasks; the step results and timings, as the local executor returns them."""
    ray = _start(workers)
    run = _mapper(ray)
    partitions = max(2, int(ray.cluster_resources().get("CPU", workers)))

    def near(ordered: list, masks: list, dropped: list, excluded: list) -> list:
        return ray.get(_refine(ray, recipe, ordered, masks, dropped, excluded))

    return run_steps(recipe, names, root, run,
                     lambda ordered: partitioned_dedup(recipe, ordered, root, partitions, run, near), parallel=True)
