"""The local executor: runs the steps of :mod:`bagel.pipeline.steps` for every source, in
worker processes when asked, and assembles the outputs and the report.

Outputs in the out dir: ``records.parquet``, ``sft.parquet``, ``dpo.parquet``,
``decontamination.jsonl``, ``near_duplicates.jsonl`` (with near dedup or exclude sets),
``report.json`` (+ ``report.html`` and the dataset card ``README.md``). Step outputs are cached under ``cache/``; a rerun reuses every step
whose inputs, options and code are unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path


from bagel import __version__, log
from bagel.memory import use_returning_memory_pool
from bagel.config import Recipe
from bagel.errors import UserError
from bagel.pipeline import cache
from bagel.pipeline.lock import out_dir_lock
from bagel.pipeline.mix import mix_summary
from bagel.pipeline.result import StepResult
from bagel.pipeline.steps import dedup_step, merged_lengths
from bagel.pipeline.tasks import run_steps
from bagel.records import RECORD_SCHEMA
from bagel.sources.base import Source
from bagel.sources.hub import HubUnavailable, exception_chain, hub_reads

STEPS = ("convert", "sample", "dedup", "trim", "decontam", "mix", "render")
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


def _concat_jsonl(paths: list[Path], dst: Path) -> list[dict]:
    rows = [json.loads(line) for p in paths for line in Path(p).read_text(encoding="utf-8").splitlines() if line]
    cache.write_jsonl(dst, rows)
    return rows


def run_build(recipe: Recipe, out_dir: Path, *, workers: int = 1, engine: str = "local",
              memory_budget: int = 512 << 20, skip_unavailable: bool = False) -> dict:
    """Build ``recipe`` into ``out_dir`` with the ``local`` or ``ray`` engine; returns the report.

    Both engines run the same steps and leave the same per-source step outputs; the outputs
    and the report are then assembled the same way. A hub source that cannot be read (gated,
    missing, unreachable) stops the build with one line, or with ``skip_unavailable`` is left
    out (the steps run again without it, every other source's steps coming from the cache) and
    listed in the report under ``skipped``.
    """
    out_dir = Path(out_dir)
    started = time.perf_counter()
    skipped: list[dict] = []
    with out_dir_lock(out_dir):  # one build per out dir
        while True:
            names = [src.name for _, src in recipe.enabled_sources()]
            if not names:
                raise UserError("the recipe enables no source" + (" (every one was skipped)" if skipped else ""))
            try:
                executed = _execute(recipe, names, out_dir, workers, engine, memory_budget)
                break
            except Exception as err:  # noqa: BLE001 - only a source that cannot be read is handled here
                failed = _unavailable(err)
                if failed is None:
                    raise
                if not skip_unavailable or failed.source is None:
                    raise failed from None
                log.logger.warning("%s; skipped (--skip-unavailable)", failed)
                skipped.append(failed.as_dict())
                recipe = _without(recipe, failed.source)
        return assemble(recipe, out_dir, names, executed, started, skipped)


def _execute(recipe: Recipe, names: list[str], out_dir: Path, workers: int, engine: str, memory_budget: int):
    if engine == "local":
        return execute_local(recipe, names, out_dir / "cache", workers, memory_budget)
    if engine == "ray":
        from bagel.pipeline.ray_engine import execute_ray

        return execute_ray(recipe, names, out_dir / "cache", workers, memory_budget)
    raise UserError(f"unknown engine {engine!r} (local or ray)")


def _unavailable(err: BaseException) -> HubUnavailable | None:
    """The :class:`HubUnavailable` behind ``err`` (a worker process or Ray may wrap it), if any."""
    return next((e for e in exception_chain(err) if isinstance(e, HubUnavailable)), None)


def _without(recipe: Recipe, name: str) -> Recipe:
    """A copy of ``recipe`` with source ``name`` disabled (pins kept)."""
    copy = recipe.model_copy(deep=True)
    for cfg in copy.sources:
        if cfg.name == name:
            cfg.enabled = False
    return copy


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


def share_cores(workers: int) -> Callable[[], None]:
    """Give this process its share of the cores, ``cpu_count // workers`` native threads (faiss/OpenMP, BLAS,
    the tokenizers' rayon pool, torch); returns the function that restores the previous settings.

    ``workers`` processes that each start a thread per core oversubscribe them (measured: the default
    decontamination preset's 100k-row build, ``--workers 2`` on 2 cores, 65 s -> 60 s). Libraries loaded
    later read the variables; faiss and torch, if already loaded, are told directly."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})
    faiss, torch = sys.modules.get("faiss"), sys.modules.get("torch")
    before = (faiss.omp_get_max_threads() if faiss else 0, torch.get_num_threads() if torch else 0)
    if faiss:
        faiss.omp_set_num_threads(threads)
    if torch:
        torch.set_num_threads(threads)

    def restore() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if faiss:
            faiss.omp_set_num_threads(before[0])
        if torch:
            torch.set_num_threads(before[1])

    return restore


def _init_worker(quiet: bool, workers: int) -> None:
    log.configure(quiet)
    use_returning_memory_pool()
    share_cores(workers)  # for the worker's whole life


def execute_local(recipe: Recipe, names: list[str], root: Path, workers: int, memory_budget: int) -> tuple:
    """Run every step locally (units in ``workers`` processes, dedup with one seen-set in this process); the
    step results and timings."""
    use_returning_memory_pool()
    pool = None
    if workers > 1:  # this process works too (see _map): workers - 1 more processes
        pool = ProcessPoolExecutor(workers - 1, mp_context=get_context("spawn"), initializer=_init_worker,
                                   initargs=(log.is_quiet(), workers))
    restore = share_cores(workers)  # this process is one of the workers
    try:
        return run_steps(recipe, names, root, partial(_map, pool),
                         lambda ordered: dedup_step(recipe, ordered, root, memory_budget), parallel=pool is not None)
    finally:
        restore()
        if pool is not None:
            pool.shutdown()


def assemble(recipe: Recipe, out_dir: Path, names: list[str], executed: tuple, started: float,
             skipped: list[dict] | None = None) -> dict:
    """Concatenate the per-source outputs into the build outputs and write the report."""
    prepared, deduped, finished, mixed, rendered, timings = executed
    clean = mixed
    t = time.perf_counter()
    from bagel.formats import DPO_SCHEMA, SFT_SCHEMA

    outputs = {
        "records": cache.concat_parquet([[c.path] for c in clean], out_dir / "records.parquet", RECORD_SCHEMA),
        "sft": cache.concat_parquet([r.extra["sft"] for r in rendered], out_dir / "sft.parquet", SFT_SCHEMA),
        "dpo": cache.concat_parquet([r.extra["dpo"] for r in rendered], out_dir / "dpo.parquet", DPO_SCHEMA),
    }
    removals = _concat_jsonl([dec.extra["removals"] for _, dec in finished], out_dir / "decontamination.jsonl")
    near_removals = write_near_removals(recipe, deduped, out_dir)
    timings["write"] = time.perf_counter() - t

    per_source = {}
    pairs = recipe.enabled_sources()  # resolved once, in the order of `names`
    sources = [src for _, src in pairs]
    local = {src.name: cfg.path is not None for cfg, src in pairs}
    for name, source, (conv, samp), ded, (trim, dec), mix, ren in zip(names, sources, prepared, deduped, finished,
                                                                        mixed, rendered):
        per_source[name] = {
            "confidence": source.confidence,
            "kind": source.kind,
            "hub_id": source.hub_id,
            "license": source.license,
            "steps": {r.step: r.as_dict() for r in (conv, samp, ded, trim, dec, mix, ren)},
        }
        per_source[name].update(provenance(source, local=local[name]))
        for step in per_source[name]["steps"].values():
            for k in ("removals", "near_removals", "sft", "dpo"):
                step.pop(k, None)
        per_source[name]["steps"]["render"].pop("tokens", None)  # the length counts, summarised in "tokens"
        per_source[name]["warnings"] = per_source[name]["steps"]["convert"].pop("warnings", [])
        per_source[name]["steps"]["convert"].pop("error", None)
    report = make_report(recipe, per_source, outputs, removals, timings, time.perf_counter() - started)
    report["skipped"] = skipped or []
    report["mix"] = mix_summary(recipe, per_source)
    report["near_duplicates"] = near_summary(near_removals)
    report["tokens"] = merged_lengths(rendered).summary(recipe.token_counter_spec(), recipe.max_seq_length)
    cache.atomic_write_json(out_dir / "report.json", report)
    _write_views(out_dir, recipe.format.tokenizer)
    return report


def provenance(source: Source, local: bool) -> dict:
    """Where a source's rows came from: ``origin`` (hub, local file, download), the commit its own hub
    read loaded (``revision``, None when unpinned or not from the hub) and every hub read it made."""
    reads = [read.as_dict(source.pins) for read in hub_reads(source, local)]
    own = [read for read in reads if read["hub_id"] == source.hub_id and not local]
    origin = "local" if local else "hub" if source.hub_id else "download"
    return {"origin": origin, "revision": own[0]["revision"] if own else None, "hub_reads": reads}
def write_near_removals(recipe: Recipe, deduped: list[StepResult], out_dir: Path) -> list[dict] | None:
    """``near_duplicates.jsonl`` (one line per row dropped as a near copy, with the id it copies) when the
    recipe has near dedup or exclude sets; None otherwise."""
    from bagel.pipeline.near import refining

    if not refining(recipe):
        return None
    return _concat_jsonl([d.extra["near_removals"] for d in deduped], out_dir / "near_duplicates.jsonl")


def near_summary(near_removals: list[dict] | None) -> dict | None:
    """The report's near-duplicate section: rows dropped as near copies, per source and copied source."""
    if near_removals is None:
        return None
    pairs = Counter((r["source"], r["near_source"]) for r in near_removals)
    by_source: dict[str, dict[str, int]] = {}
    for (source, copied), n in sorted(pairs.items()):
        by_source.setdefault(source, {})[copied] = n
    return {"removed": len(near_removals), "by_source": by_source}


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
        "recipe_config": recipe.portable_dump(),  # no local path leaves the machine
        "seed": recipe.seed,
        "bagel_version": __version__,
        "code_version": cache.code_version(),
        "format": {"mode": recipe.format.mode, "formats": list(recipe.format.formats), "bos": bos, "eos": eos,
                   "chatml_markers": recipe.format.chatml_markers},
        "sources": per_source,
        "step_order": list(STEPS),
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


def _write_views(out_dir: Path, tokenizer_path: str | None) -> None:
    """report.html and the dataset card README.md, from the files just written."""
    from bagel.report import write_views

    write_views(out_dir, tokenizer_path)
