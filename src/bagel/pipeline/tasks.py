"""The units both executors run: one task per shard or per source of each step, the order they run in
(:func:`run_steps`), and the per-process resources a task needs (the decontaminator, the renderer),
built once per worker and held while their step runs.

The local executor (:mod:`bagel.pipeline.build`) maps these over worker processes, the Ray
executor (:mod:`bagel.pipeline.ray_engine`) over Ray tasks; neither imports the other. Every task
reads its inputs from, and writes its output to, the step cache under the out dir and returns
only a :class:`~bagel.pipeline.result.StepResult` (counts and paths), never rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bagel.config import Recipe
from bagel.memory import trim_heap
from bagel.pipeline import cache
from bagel.pipeline.checks import raise_failures
from bagel.pipeline.convert import Shard, convert_shard, convert_shards, converted, join_shards
from bagel.pipeline.mix import mix_step
from bagel.pipeline.result import StepResult
from bagel.pipeline.steps import (decontam_shard, id_batches, join_decontam, join_render, render_shard, sample_step,
                                  trim_step)

SHARD_ROWS = 16 * cache.ROW_GROUP_SIZE  # rows per shard of the per-shard steps (decontam, render)
Run = Callable[[Callable, list[tuple]], list]  # an executor's map: fn(*args) for each args, results in order
_PROCESS_CACHE: dict = {}  # (step, name) -> resource: the resources of one step at a time


def _once(step: str, name: str, build: Callable):
    """A per-process singleton of ``step`` (a decontaminator or renderer is built once per worker). The first
    resource of another step drops the previous step's (a worker holds no decontaminator while it renders)."""
    if any(held != step for held, _ in _PROCESS_CACHE):
        _PROCESS_CACHE.clear()
        trim_heap(now=True)
    if (step, name) not in _PROCESS_CACHE:
        _PROCESS_CACHE[step, name] = build()
    return _PROCESS_CACHE[step, name]


def decontaminator(recipe: Recipe, root: Path) -> Callable:
    """A getter of this process's decontaminator for ``recipe`` (built at the first call)."""
    def build():
        from bagel.decontam import Decontaminator

        return Decontaminator(recipe.decontamination, cache_dir=root / "benchmarks")

    return lambda: _once("decontam", cache.key(recipe.decontamination.model_dump(mode="json")), build)


def renderer(recipe: Recipe, id_paths: list[str], ids_key: str) -> Callable:
    """A getter of this process's renderer (``slices`` mode prepared over the ids in ``id_paths``)."""
    from bagel.formats import Renderer

    def build():
        renderer = Renderer(recipe.format, recipe.seed)
        if recipe.format.mode == "slices":
            renderer.prepare(i for path in id_paths for batch in id_batches(Path(path)) for i in batch)
        return renderer

    name = cache.key(recipe.format.model_dump(mode="json"), recipe.seed, ids_key)
    return lambda: _once("render", name, build)


def _source(recipe: Recipe, name: str):
    return next((cfg, src) for cfg, src in recipe.enabled_sources() if src.name == name)


def shard_plan(recipe: Recipe, names: list[str], root: Path) -> list[tuple[str, int, Shard]]:
    """``(source, index, shard)`` of every shard of every source (in source order): the convert tasks. A source
    already converted is one task, which finds it in the cache."""
    plan = []
    for name in names:
        cfg, source = _source(recipe, name)
        shards = [None] if converted(recipe, cfg, source, root) else convert_shards(cfg, source)
        plan.extend((name, index, shard) for index, shard in enumerate(shards))
    return plan


def convert_task(recipe: Recipe, name: str, root: Path, index: int, shard: Shard) -> StepResult:
    """convert of one shard of a source."""
    cfg, source = _source(recipe, name)
    return convert_shard(recipe, cfg, source, root, index, shard)


def by_source(names: list[str], plan: list[tuple], results: list) -> list[list]:
    """``results`` of the tasks of ``plan`` (whose first item is the source name) grouped per source."""
    grouped: dict[str, list] = {name: [] for name in names}
    for task, result in zip(plan, results):
        grouped[task[0]].append(result)
    return [grouped[name] for name in names]


def prepare_task(recipe: Recipe, name: str, root: Path, shards: list[StepResult]) -> tuple[StepResult, StepResult]:
    """join of the converted shards + sample of one source."""
    cfg, source = _source(recipe, name)
    converted = join_shards(recipe, cfg, source, root, shards)
    return converted, sample_step(recipe, source, converted, root)


def index_task(recipe: Recipe, root: Path) -> None:
    """Build (and cache on disk) the benchmark indexes once, before the workers that load them start."""
    decontaminator(recipe, root)()


def trim_task(recipe: Recipe, name: str, deduped: StepResult, root: Path) -> StepResult:
    """trim of one source."""
    cfg, source = _source(recipe, name)
    return trim_step(recipe, cfg, source, deduped, root)


def range_plan(names: list[str], results: list[StepResult]) -> list[tuple[str, int, tuple[int, int], StepResult]]:
    """``(source, index, row groups, result)`` of every shard of :data:`SHARD_ROWS` rows of each source's
    output in ``results`` (in source order): the tasks of a per-shard step. Only file footers are read."""
    return [(name, index, groups, result) for name, result in zip(names, results)
            for index, groups in enumerate(cache.row_group_ranges(result.path, SHARD_ROWS))]


def decontam_task(recipe: Recipe, name: str, trimmed: StepResult, root: Path, index: int,
                  groups: tuple[int, int]) -> StepResult:
    """decontam of one shard of a source."""
    _, source = _source(recipe, name)
    return decontam_shard(recipe, source, trimmed, root, index, groups, decontaminator(recipe, root))


def join_decontam_task(recipe: Recipe, name: str, trimmed: StepResult, root: Path,
                       parts: list[StepResult]) -> StepResult:
    """decontam of one source, from its shards'."""
    _, source = _source(recipe, name)
    return join_decontam(recipe, source, trimmed, root, parts)


def render_task(recipe: Recipe, name: str, clean: StepResult, root: Path, index: int, groups: tuple[int, int],
                id_paths: list[str], ids_key: str) -> StepResult:
    """render of one shard of a source."""
    _, source = _source(recipe, name)
    return render_shard(recipe, source, clean, root, index, groups, renderer(recipe, id_paths, ids_key), ids_key,
                        token_counter(recipe))


def token_counter(recipe: Recipe) -> Callable:
    """A getter of this process's :class:`~bagel.tokens.TokenCounter` for ``recipe`` (loaded at the first call)."""
    from bagel.tokens import TokenCounter

    spec = recipe.token_counter_spec()
    return lambda: _once("render", f"tokens:{spec}", lambda: TokenCounter(spec))


def mix_task(recipe: Recipe, clean: list[StepResult], root: Path) -> list[StepResult]:
    """The mix step over every source (decontaminated outputs in load order)."""
    pairs = recipe.enabled_sources()
    return mix_step(recipe, [(cfg, src, dec) for (cfg, src), dec in zip(pairs, clean)], root)


def slice_ids(recipe: Recipe, clean: list[StepResult]) -> tuple[list[str], str]:
    """Where the final ids live, and a key of them (only ``slices`` mode depends on all ids)."""
    id_paths = [str(c.path) for c in clean]
    return id_paths, cache.key([c.key for c in clean]) if recipe.format.mode == "slices" else ""


def run_steps(recipe: Recipe, names: list[str], root: Path, run: Run,
              dedup: Callable[[list[tuple]], list[StepResult]], parallel: bool) -> tuple:
    """Every step of a build, as units an executor runs: ``run`` maps a unit over its tasks (shards or
    sources) and ``dedup`` deduplicates ``(source, sampled)`` pairs in load order. With ``parallel`` workers
    the benchmark indexes are built by one task before all others (not while other tasks convert). convert,
    decontam and render run per shard (parts of the source's input, row groups of its trimmed or mixed
    rows), joined per source in order. The step results per source and the timings."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if parallel and recipe.decontamination.enabled:  # first: its set-up's peak meets no converting worker's
        run(index_task, [(recipe, root)])
    plan = shard_plan(recipe, names, root)
    shards = by_source(names, plan, run(convert_task, [(recipe, n, root, i, s) for n, i, s in plan]))
    prepared = run(prepare_task, [(recipe, n, root, parts) for n, parts in zip(names, shards)])
    raise_failures([converted for converted, _ in prepared])
    timings["convert+sample"] = time.perf_counter() - t

    t = time.perf_counter()
    sources = [src for _, src in recipe.enabled_sources()]
    deduped = dedup([(src, sampled) for src, (_, sampled) in zip(sources, prepared)])
    timings["dedup"] = time.perf_counter() - t

    t = time.perf_counter()
    trimmed = run(trim_task, [(recipe, n, d, root) for n, d in zip(names, deduped)])
    plan = range_plan(names, trimmed)
    parts = by_source(names, plan, run(decontam_task, [(recipe, n, r, root, i, g) for n, i, g, r in plan]))
    decontaminated = run(join_decontam_task, [(recipe, n, r, root, p) for n, r, p in zip(names, trimmed, parts)])
    finished = list(zip(trimmed, decontaminated))
    timings["trim+decontam"] = time.perf_counter() - t

    t = time.perf_counter()
    mixed = run(mix_task, [(recipe, decontaminated, root)])[0]
    timings["mix"] = time.perf_counter() - t

    t = time.perf_counter()
    id_paths, ids_key = slice_ids(recipe, mixed)
    plan = range_plan(names, mixed)
    shards = run(render_task, [(recipe, n, r, root, i, g, id_paths, ids_key) for n, i, g, r in plan])
    rendered = [join_render(parts) for parts in by_source(names, plan, shards)]
    timings["render"] = time.perf_counter() - t
    return prepared, deduped, finished, mixed, rendered, timings
