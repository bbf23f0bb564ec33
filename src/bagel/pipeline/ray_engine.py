"""The Ray Data engine: the same steps as the local engine, run on a Ray cluster.

- convert + sample, and trim: a Ray Data ``map`` over the list of sources (a converter
  streams a whole source, so one task owns one source);
- dedup: a Ray Data ``groupby("id").map_groups`` over (id, load position, row) of every
  source and of the exclude sets, keeping in each group exactly what the local seen-set keeps
  (and dropping ids an exclude set holds); near dedup: band keys of every live row in a Ray Data
  map (per parquet row group), ``groupby`` band key, and only the keys several rows share go to
  one Ray task that applies the local rules in load order;
- mix (weighted shares, a global choice over hashes and lengths): one Ray task;
- decontamination and rendering: ``read_parquet`` of the records + ``map_batches`` with one
  decontaminator / renderer per actor (the benchmark index reaches each actor through the
  step cache: built once, then loaded);
- results are written into the same step cache entries as the local engine's, so outputs,
  report and caching are shared.

Ray is started locally with ``--workers`` CPUs unless ``RAY_ADDRESS`` names a cluster
(``ray start --head`` on one node, ``ray start --address=HEAD:6379`` on the others); the
out dir must then be on storage that every node sees (NFS, a mounted bucket).
"""

from __future__ import annotations

import json
import os
import pickle
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bagel import log
from bagel.config import Recipe
from bagel.pipeline import build, steps
from bagel.pipeline.checks import raise_failures
from bagel.records import RECORD_SCHEMA

PATH = "path"  # the column read_parquet(include_paths=True) adds
REMOVAL = "_removal"
# an actor reserves half a CPU, so file listing and reads always find one free (else they starve)
ACTOR_CPUS = 0.5
LOCAL_NODE_IP = "127.0.0.2"  # where a build-started Ray listens


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
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = not log.is_quiet()
    return ray


def _per_source(ray, names: list[str], task: Callable) -> list:
    """Run ``task(index)`` for every source as a Ray Data map; results in source order."""
    def run(row: dict) -> dict:
        return {"i": row["i"], "result": pickle.dumps(task(row["i"]))}

    rows = ray.data.from_items([{"i": i} for i in range(len(names))]).map(run).take_all()
    return [pickle.loads(r["result"]) for r in sorted(rows, key=lambda r: r["i"])]


def _dedup_group(group: pa.Table, policies: list[str]) -> pa.Table:
    """The (pos, row) pairs a group of equal ids keeps: the local seen-set's rule, in load order; each with
    the first exclude set that holds the id (``excluded``, -1 for none: rows with ``pos`` -1 - k are set k's)."""
    order = np.lexsort((group["row"].to_numpy(), group["pos"].to_numpy()))
    pos, row = group["pos"].to_numpy()[order], group["row"].to_numpy()[order]
    sets = pos[pos < 0]
    excluded = -1 - int(sets.max()) if len(sets) else -1  # the lowest-numbered exclude set holding the id
    keep, seen = [], False
    for p, r in zip(pos, row):
        if p < 0:
            continue
        policy = policies[p]
        if policy == "none" or policy == "add" or not seen:
            keep.append((p, r))
        seen = seen or policy != "none"
    return pa.table({"pos": [p for p, _ in keep], "row": [r for _, r in keep], "excluded": [excluded] * len(keep)},
                    schema=pa.schema([("pos", pa.int32()), ("row", pa.int64()), ("excluded", pa.int32())]))


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


def _dedup(ray, recipe: Recipe, ordered: list, root: Path) -> list[steps.StepResult]:
    entries = steps.dedup_entries(ordered, root, recipe)
    cached = [steps.cached_dedup(s, k, e) for (s, _), (k, e) in zip(ordered, entries)]
    if all(cached):
        return cached
    started = time.perf_counter()
    from bagel.pipeline.near import exclude_records, refining

    sizes = [pq.ParquetFile(prev.path).metadata.num_rows for _, prev in ordered]
    excluded = [exclude_records(e, root, recipe.batch_size) for e in recipe.exclude]
    tables = [
        pa.table({"id": pq.read_table(path, columns=["id"])["id"],
                  "pos": pa.array(np.full(n, pos, dtype=np.int32)), "row": pa.array(np.arange(n, dtype=np.int64))})
        for pos, path, n in [(-1 - k, p, pq.ParquetFile(p).metadata.num_rows) for k, p in enumerate(excluded)]
        + [(pos, prev.path, n) for pos, ((_, prev), n) in enumerate(zip(ordered, sizes))]
    ]
    policies = [source.dedup for source, _ in ordered]
    kept = (ray.data.from_arrow(tables).groupby("id")
            .map_groups(partial(_dedup_group, policies=policies), batch_format="pyarrow").to_arrow_refs())
    masks = [np.zeros(n, dtype=bool) for n in sizes]
    dropped = [Counter() for _ in ordered]
    for table in ray.get(kept):
        for p, r, k in zip(table["pos"].to_numpy(), table["row"].to_numpy(), table["excluded"].to_numpy()):
            masks[p][r] = k < 0
            if k >= 0:
                dropped[p][f"excluded:{recipe.exclude[k].name}"] += 1
    refined = None
    if refining(recipe):
        refined = ray.get(_refine(ray, recipe, ordered, masks, dropped, excluded))
    return steps.write_dedups(recipe, ordered, masks, refined, root, started)


class _Decontaminate:
    """A map_batches actor: the decontaminator, built once per actor."""

    def __init__(self, recipe: Recipe, root: Path):
        self.detector = build._decontaminator(recipe, root)()

    def __call__(self, batch: pa.Table) -> pa.Table:
        records = batch.drop_columns([PATH])
        kept, removals = self.detector.filter_batch(records)
        removed = {r["id"]: json.dumps(r, ensure_ascii=False, sort_keys=True) for r in removals}
        marks = pa.array([removed.get(i) for i in records["id"].to_pylist()], pa.string())
        return batch.append_column(REMOVAL, marks)


class _Render:
    """A map_batches actor: the renderer (slices prepared over every id), built once per actor."""

    def __init__(self, recipe: Recipe, id_paths: list[str], ids_key: str):
        self.renderer = build._renderer(recipe, id_paths, ids_key)()

    def __call__(self, batch: pa.Table) -> pa.Table:
        paths, blobs = [], []
        for path in dict.fromkeys(batch[PATH].to_pylist()):  # a batch may span several sources
            part = batch.filter(pa.compute.equal(batch[PATH], path)).drop_columns([PATH])
            sft, dpo, dropped = self.renderer.render_batch(steps.with_sft_copies(part))
            paths.append(path)
            blobs.append(pickle.dumps((part.num_rows, sft, dpo, dict(dropped))))
        return pa.table({PATH: paths, "rendered": blobs})


def _by_path(ray_ds, paths: list[str]):
    """Iterate the output batches of ``ray_ds`` grouped by source file, in order."""
    for batch in ray_ds.iter_batches(batch_format="pyarrow", batch_size=None):
        for path in dict.fromkeys(batch[PATH].to_pylist()):
            yield path, batch.filter(pa.compute.equal(batch[PATH], path))


def _decontam(ray, recipe: Recipe, sources, trimmed, root: Path, workers: int) -> list[steps.StepResult]:
    entries = [steps.decontam_entry(recipe, s, t, root) for s, t in zip(sources, trimmed)]
    results = [steps.cached_decontam(s, k, e) for s, (k, e) in zip(sources, entries)]
    todo = [i for i, r in enumerate(results) if r is None]
    if not todo:
        return results
    started = time.perf_counter()
    paths = [str(trimmed[i].path) for i in todo]
    ds = ray.data.read_parquet(paths, include_paths=True, columns=list(RECORD_SCHEMA.names))
    if recipe.decontamination.enabled:
        ds = ds.map_batches(_Decontaminate, fn_constructor_args=(recipe, root), batch_format="pyarrow",
                            batch_size=recipe.batch_size, concurrency=workers, num_cpus=ACTOR_CPUS)
    parts: dict[str, list[pa.Table]] = {p: [] for p in paths}
    for path, part in _by_path(ds, paths):
        parts[_match(path, paths)].append(part)
    for i, path in zip(todo, paths):
        tables = parts[path]
        removed = [json.loads(m) for t in tables if REMOVAL in t.column_names for m in t[REMOVAL].to_pylist() if m]
        kept = (t.filter(pa.compute.is_null(t[REMOVAL])) if REMOVAL in t.column_names else t for t in tables)
        kept = (t.select(RECORD_SCHEMA.names) for t in kept)
        key, entry = entries[i]
        results[i] = steps.write_decontam(sources[i], trimmed[i], key, entry, kept, removed, started)
    return results


def _match(path: str, paths: list[str]) -> str:
    """The requested path that ``path`` (as Ray reports it, maybe without a scheme) refers to."""
    return next(p for p in paths if p.endswith(path) or path.endswith(p))


def _render(ray, recipe: Recipe, sources, clean, root: Path, workers: int) -> list[steps.StepResult]:
    id_paths, ids_key = build.slice_ids(recipe, clean)
    entries = [steps.render_entries(recipe, s, c, root, ids_key) for s, c in zip(sources, clean)]
    results = [steps.cached_render(s, *e) for s, e in zip(sources, entries)]
    todo = [i for i, r in enumerate(results) if r is None]
    if not todo:
        return results
    started = time.perf_counter()
    paths = [str(clean[i].path) for i in todo]
    ds = ray.data.read_parquet(paths, include_paths=True, columns=list(RECORD_SCHEMA.names)).map_batches(
        _Render, fn_constructor_args=(recipe, id_paths, ids_key), batch_format="pyarrow",
        batch_size=recipe.batch_size, concurrency=workers, num_cpus=ACTOR_CPUS)
    parts: dict[str, list] = {p: [] for p in paths}
    for path, part in _by_path(ds, paths):
        parts[_match(path, paths)].extend(pickle.loads(b) for b in part["rendered"].to_pylist())
    for i, path in zip(todo, paths):
        results[i] = steps.write_render(sources[i], *entries[i], iter(parts[path]), started)
    return results


def execute_ray(recipe: Recipe, names: list[str], root: Path, workers: int, memory_budget: int) -> tuple:
    """Run every step on Ray Data; the step results and timings, as :func:`build.execute_local` returns."""
    ray = _start(workers)
    timings: dict[str, float] = {}
    sources = [src for _, src in recipe.enabled_sources()]
    t = time.perf_counter()
    prepared = _per_source(ray, names, lambda i: build.prepare_task(recipe, names[i], root))
    raise_failures([converted for converted, _ in prepared])
    timings["convert+sample"] = time.perf_counter() - t
    t = time.perf_counter()
    deduped = _dedup(ray, recipe, [(s, sampled) for s, (_, sampled) in zip(sources, prepared)], root)
    timings["dedup"] = time.perf_counter() - t
    t = time.perf_counter()
    cfgs = [cfg for cfg, _ in recipe.enabled_sources()]
    trimmed = _per_source(ray, names, lambda i: steps.trim_step(recipe, cfgs[i], sources[i], deduped[i], root))
    clean = _decontam(ray, recipe, sources, trimmed, root, workers)
    timings["trim+decontam"] = time.perf_counter() - t
    t = time.perf_counter()
    mixed = ray.get(ray.remote(build.mix_task).remote(recipe, clean, root))
    timings["mix"] = time.perf_counter() - t
    t = time.perf_counter()
    rendered = _render(ray, recipe, sources, mixed, root, workers)
    timings["render"] = time.perf_counter() - t
    return prepared, deduped, list(zip(trimmed, clean)), mixed, rendered, timings
