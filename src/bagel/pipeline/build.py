"""The local executor: runs the steps of :mod:`bagel.pipeline.steps` for every source, in
worker processes when asked, and assembles the outputs and the report.

Outputs in the out dir: ``records.parquet``, ``sft.parquet``, ``dpo.parquet``,
``decontamination.jsonl``, ``report.json`` (+ ``report.html`` and the dataset card
``README.md``). Step outputs are cached under ``cache/``; a rerun reuses every step
whose inputs, options and code are unchanged.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pyarrow as pa

from bagel import __version__, log
from bagel.memory import use_returning_memory_pool
from bagel.config import Recipe
from bagel.errors import UserError
from bagel.pipeline import cache
from bagel.pipeline.steps import (
    StepResult,
    convert_step,
    decontam_step,
    dedup_step,
    id_batches,
    render_step,
    sample_step,
    trim_step,
)
from bagel.records import RECORD_SCHEMA

STEPS = ("convert", "sample", "dedup", "trim", "decontam", "render")
_PROCESS_CACHE: dict = {}


def _once(name: str, build: Callable):
    """A per-process singleton (a decontaminator or renderer is built once per worker)."""
    if name not in _PROCESS_CACHE:
        _PROCESS_CACHE[name] = build()
    return _PROCESS_CACHE[name]


def _decontaminator(recipe: Recipe, root: Path) -> Callable:
    def build():
        from bagel.decontam import Decontaminator

        return Decontaminator(recipe.decontamination, cache_dir=root / "benchmarks")

    return lambda: _once("decontam:" + cache.key(recipe.decontamination.model_dump(mode="json")), build)


def _renderer(recipe: Recipe, id_paths: list[str], ids_key: str) -> Callable:
    from bagel.formats import Renderer

    def build():
        renderer = Renderer(recipe.format, recipe.seed)
        if recipe.format.mode == "slices":
            renderer.prepare(i for path in id_paths for batch in id_batches(Path(path)) for i in batch)
        return renderer

    name = "render:" + cache.key(recipe.format.model_dump(mode="json"), recipe.seed, ids_key)
    return lambda: _once(name, build)


# --- per-source tasks (module-level so worker processes can run them) -----------------------------


def _source(recipe: Recipe, name: str):
    return next((cfg, src) for cfg, src in recipe.enabled_sources() if src.name == name)


def prepare_task(recipe: Recipe, name: str, root: Path) -> tuple[StepResult, StepResult]:
    """convert + sample of one source."""
    cfg, source = _source(recipe, name)
    converted = convert_step(recipe, cfg, source, root)
    return converted, sample_step(recipe, source, converted, root)


def finish_task(recipe: Recipe, name: str, deduped: StepResult, root: Path) -> tuple[StepResult, StepResult]:
    """trim + decontam of one source."""
    cfg, source = _source(recipe, name)
    trimmed = trim_step(recipe, cfg, source, deduped, root)
    return trimmed, decontam_step(recipe, source, trimmed, root, _decontaminator(recipe, root))


def render_task(recipe: Recipe, name: str, clean: StepResult, root: Path, id_paths: list[str], ids_key: str):
    """render of one source."""
    _, source = _source(recipe, name)
    return render_step(recipe, source, clean, root, _renderer(recipe, id_paths, ids_key), ids_key)


def _map(pool, fn, args: Iterable[tuple]) -> list:
    """``fn(*a)`` for each of ``args``, in order. With a pool, this process is one more worker: the pool
    takes tasks from the front, this process the still-pending ones from the back (by cancelling them)."""
    args = list(args)
    if pool is None:
        return [fn(*a) for a in args]
    futures = [pool.submit(fn, *a) for a in args]
    local = {}
    for i in reversed(range(len(args))):
        if futures[i].cancel():
            local[i] = fn(*args[i])
    return [local[i] if i in local else futures[i].result() for i in range(len(args))]


# --- assembly --------------------------------------------------------------------------------------


def _concat_parquet(paths: list[Path], dst: Path, schema: pa.Schema) -> int:
    return cache.write_parquet(dst, schema, (pa.Table.from_batches([b], schema=schema)
                                             for p in paths for b in cache.read_batches(p)))


def _concat_jsonl(paths: list[Path], dst: Path) -> list[dict]:
    rows = [json.loads(line) for p in paths for line in Path(p).read_text(encoding="utf-8").splitlines() if line]
    cache.atomic_write_bytes(dst, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode())
    return rows


def run_build(recipe: Recipe, out_dir: Path, *, workers: int = 1, engine: str = "local",
              memory_budget: int = 512 << 20) -> dict:
    """Build ``recipe`` into ``out_dir`` with the ``local`` or ``ray`` engine; returns the report.

    Both engines run the same steps and leave the same per-source step outputs; the outputs
    and the report are then assembled the same way.
    """
    out_dir = Path(out_dir)
    started = time.perf_counter()
    names = [src.name for _, src in recipe.enabled_sources()]
    if not names:
        raise UserError("the recipe enables no source")
    if engine == "local":
        executed = execute_local(recipe, names, out_dir / "cache", workers, memory_budget)
    elif engine == "ray":
        from bagel.pipeline.ray_engine import execute_ray

        executed = execute_ray(recipe, names, out_dir / "cache", workers, memory_budget)
    else:
        raise UserError(f"unknown engine {engine!r} (local or ray)")
    return assemble(recipe, out_dir, names, executed, started)


def _init_worker(quiet: bool) -> None:
    log.configure(quiet)
    use_returning_memory_pool()


def execute_local(recipe: Recipe, names: list[str], root: Path, workers: int, memory_budget: int) -> tuple:
    """Run every step locally (per-source steps in ``workers`` processes); the step results and timings."""
    timings: dict[str, float] = {}
    use_returning_memory_pool()
    pool = None
    if workers > 1:  # this process works too (see _map): workers - 1 more processes
        pool = ProcessPoolExecutor(workers - 1, mp_context=get_context("spawn"), initializer=_init_worker,
                                   initargs=(log.is_quiet(),))
    try:
        t = time.perf_counter()
        prepared = _map(pool, prepare_task, [(recipe, n, root) for n in names])
        timings["convert+sample"] = time.perf_counter() - t

        t = time.perf_counter()
        sources = [src for _, src in recipe.enabled_sources()]
        deduped = dedup_step(recipe, [(src, sampled) for src, (_, sampled) in zip(sources, prepared)], root,
                             memory_budget)
        timings["dedup"] = time.perf_counter() - t

        t = time.perf_counter()
        if pool is not None and recipe.decontamination.enabled:  # build (and cache) the benchmark indexes
            _decontaminator(recipe, root)()  # once here, not in every worker at the same time
        finished = _map(pool, finish_task, [(recipe, n, d, root) for n, d in zip(names, deduped)])
        timings["trim+decontam"] = time.perf_counter() - t

        t = time.perf_counter()
        clean = [dec for _, dec in finished]
        id_paths, ids_key = slice_ids(recipe, clean)
        rendered = _map(pool, render_task, [(recipe, n, c, root, id_paths, ids_key) for n, c in zip(names, clean)])
        timings["render"] = time.perf_counter() - t
    finally:
        if pool is not None:
            pool.shutdown()
    return prepared, deduped, finished, rendered, timings


def slice_ids(recipe: Recipe, clean: list[StepResult]) -> tuple[list[str], str]:
    """Where the final ids live, and a key of them (only ``slices`` mode depends on all ids)."""
    id_paths = [str(c.path) for c in clean]
    return id_paths, cache.key([c.key for c in clean]) if recipe.format.mode == "slices" else ""


def assemble(recipe: Recipe, out_dir: Path, names: list[str], executed: tuple, started: float) -> dict:
    """Concatenate the per-source outputs into the build outputs and write the report."""
    prepared, deduped, finished, rendered, timings = executed
    clean = [dec for _, dec in finished]
    t = time.perf_counter()
    from bagel.formats import DPO_SCHEMA, SFT_SCHEMA

    outputs = {
        "records": _concat_parquet([c.path for c in clean], out_dir / "records.parquet", RECORD_SCHEMA),
        "sft": _concat_parquet([Path(r.extra["sft"]) for r in rendered], out_dir / "sft.parquet", SFT_SCHEMA),
        "dpo": _concat_parquet([Path(r.extra["dpo"]) for r in rendered], out_dir / "dpo.parquet", DPO_SCHEMA),
    }
    removals = _concat_jsonl([c.extra["removals"] for c in clean], out_dir / "decontamination.jsonl")
    timings["write"] = time.perf_counter() - t

    per_source = {}
    sources = [src for _, src in recipe.enabled_sources()]  # resolved once, in the order of `names`
    for name, source, (conv, samp), ded, (trim, dec), ren in zip(names, sources, prepared, deduped, finished,
                                                                   rendered):
        per_source[name] = {
            "confidence": source.confidence,
            "kind": source.kind,
            "hub_id": source.hub_id,
            "license": source.license,
            "steps": {r.step: r.as_dict() for r in (conv, samp, ded, trim, dec, ren)},
        }
        for step in per_source[name]["steps"].values():
            for k in ("removals", "sft", "dpo"):
                step.pop(k, None)
    report = make_report(recipe, per_source, outputs, removals, timings, time.perf_counter() - started)
    cache.atomic_write_json(out_dir / "report.json", report)
    _write_views(out_dir)
    return report


def _step_totals(per_source: dict) -> dict:
    totals = {}
    for step in STEPS:
        dropped: Counter = Counter()
        rows_in = kept = 0
        seconds = 0.0
        for info in per_source.values():
            s = info["steps"][step]
            rows_in += s["in"]
            kept += s["kept"]
            seconds += s["seconds"]
            dropped.update(s["dropped"])
        totals[step] = {"in": rows_in, "kept": kept, "dropped": dict(sorted(dropped.items())),
                        "seconds": round(seconds, 3)}
    return totals


def make_report(recipe: Recipe, per_source: dict, outputs: dict, removals: list[dict], timings: dict,
                total_seconds: float) -> dict:
    """The build report: per source and per step, rows in, kept, dropped by reason, timings."""
    by_pair: dict[str, Counter] = {}
    for r in removals:
        by_pair.setdefault(r["source"], Counter())[r["benchmark"]] += 1
    from bagel.formats import resolve_special_tokens

    bos, eos = resolve_special_tokens(recipe.format)
    return {
        "recipe": recipe.name,
        "recipe_config": recipe.model_dump(mode="json"),
        "seed": recipe.seed,
        "bagel_version": __version__,
        "code_version": cache.code_version(),
        "format": {"mode": recipe.format.mode, "formats": list(recipe.format.formats), "bos": bos, "eos": eos,
                   "chatml_markers": recipe.format.chatml_markers},
        "sources": per_source,
        "steps": _step_totals(per_source),
        "outputs": outputs,
        "decontamination": {
            "removed": len(removals),
            "by_source": {s: dict(sorted(c.items())) for s, c in sorted(by_pair.items())},
            "top": sorted(removals, key=lambda r: -float(r.get("score", 0)))[:50],
            **_coverage_section(recipe, per_source, removals),
        },
        "timings": {**{k: round(v, 3) for k, v in timings.items()}, "total": round(total_seconds, 3)},
    }


def _coverage_section(recipe: Recipe, per_source: dict, removals: list[dict]) -> dict:
    """Per source x benchmark, the share of the benchmark's items found (Tulu 3's coverage), and the
    sources dropped whole for a coverage above ``drop_source_above``."""
    from bagel.decontam.coverage import coverage

    dropped = {name: info["steps"]["decontam"]["dropped"]["source_over_coverage"]
               for name, info in per_source.items()
               if info.get("steps", {}).get("decontam", {}).get("dropped", {}).get("source_over_coverage")}
    return {"coverage": coverage(removals), "drop_source_above": recipe.decontamination.drop_source_above,
            "dropped_sources": dict(sorted(dropped.items()))}


def _write_views(out_dir: Path) -> None:
    """report.html and the dataset card README.md, from the files just written."""
    from bagel.report import write_views

    write_views(out_dir)
