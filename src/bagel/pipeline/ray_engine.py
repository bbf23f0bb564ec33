"""The Ray Data engine: the same steps as the local engine, run on a Ray cluster.

- convert + sample, and trim: a Ray Data ``map`` over the list of sources (a converter
  streams a whole source, so one task owns one source);
- dedup: a Ray Data ``groupby("id").map_groups`` over (id, load position, row) of every
  source, keeping in each group exactly what the local seen-set keeps;
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
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bagel import log
from bagel.config import Recipe
from bagel.pipeline import build, steps
from bagel.records import RECORD_SCHEMA

PATH = "path"  # the column read_parquet(include_paths=True) adds
REMOVAL = "_removal"
# an actor reserves half a CPU, so file listing and reads always find one free (else they starve)
ACTOR_CPUS = 0.5


def _start(workers: int):
    import ray

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
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
    """The (pos, row) pairs a group of equal ids keeps: the local seen-set's rule, in load order."""
    order = np.lexsort((group["row"].to_numpy(), group["pos"].to_numpy()))
    pos, row = group["pos"].to_numpy()[order], group["row"].to_numpy()[order]
    keep, seen = [], False
    for p, r in zip(pos, row):
        policy = policies[p]
        if policy == "none" or policy == "add" or not seen:
            keep.append((p, r))
        seen = seen or policy != "none"
    return pa.table({"pos": [p for p, _ in keep], "row": [r for _, r in keep]},
                    schema=pa.schema([("pos", pa.int32()), ("row", pa.int64())]))


def _dedup(ray, recipe: Recipe, ordered: list, root: Path) -> list[steps.StepResult]:
    entries = steps.dedup_entries(ordered, root)
    cached = [steps._cached("dedup", s.name, e, k) for (s, _), (k, e) in zip(ordered, entries)]
    if all(cached):
        return cached
    started = time.perf_counter()
    sizes = [pq.ParquetFile(prev.path).metadata.num_rows for _, prev in ordered]
    tables = [
        pa.table({"id": pq.read_table(prev.path, columns=["id"])["id"],
                  "pos": pa.array(np.full(n, pos, dtype=np.int32)), "row": pa.array(np.arange(n, dtype=np.int64))})
        for pos, ((_, prev), n) in enumerate(zip(ordered, sizes))
    ]
    policies = [source.dedup for source, _ in ordered]
    kept = (ray.data.from_arrow(tables).groupby("id")
            .map_groups(partial(_dedup_group, policies=policies), batch_format="pyarrow").to_arrow_refs())
    masks = [np.zeros(n, dtype=bool) for n in sizes]
    for table in ray.get(kept):
        for p, r in zip(table["pos"].to_numpy(), table["row"].to_numpy()):
            masks[p][r] = True
    return [hit or steps.write_dedup(recipe, source, prev, key, entry, mask, started)
            for hit, (source, prev), (key, entry), mask in zip(cached, ordered, entries, masks)]


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
        results[i] = steps.write_decontam(sources[i], trimmed[i], key, entry, kept, removed, started,
                                          recipe.decontamination.drop_source_above)
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
    rendered = _render(ray, recipe, sources, clean, root, workers)
    timings["render"] = time.perf_counter() - t
    return prepared, deduped, list(zip(trimmed, clean)), rendered, timings
