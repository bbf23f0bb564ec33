"""What a step did for one source (or shard): :class:`StepResult`, and how a result is saved beside its
cache entry and found there again. Shared by every step; small and picklable, it is all a task returns
to the process that drives the build (counts and paths, never rows)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bagel.pipeline import cache


@dataclass
class StepResult:
    """What one step did for one source: counts, time, where its output is."""

    step: str
    source: str
    path: Path
    key: str
    rows_in: int = 0
    kept: int = 0
    dropped: dict = field(default_factory=dict)
    seconds: float = 0.0
    cached: bool = False
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The report form of this result."""
        return {
            "in": self.rows_in,
            "kept": self.kept,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 3),
            "cached": self.cached,
            **self.extra,
        }


def cached_result(step: str, name: str, entry: cache.Entry, entry_key: str) -> StepResult | None:
    """The result saved with a complete cache entry (its output file present), else None."""
    if not entry.meta.exists():
        return None
    meta = entry.load_meta()
    path = Path(meta.get("path") or entry.data)  # a step that dropped nothing points at its input
    if not path.exists():
        return None
    return StepResult(
        step, name, path, entry_key, meta["in"], meta["kept"], meta["dropped"], meta["seconds"], True,
        meta.get("extra", {}),
    )


def finish_result(result: StepResult, entry: cache.Entry, started: float) -> StepResult:
    """Time ``result`` from ``started`` and save it beside its entry, which completes the entry."""
    result.seconds = time.perf_counter() - started
    meta = {"in": result.rows_in, "kept": result.kept, "dropped": result.dropped, "seconds": result.seconds,
            "extra": result.extra, "path": None if result.path == entry.data else str(result.path)}
    entry.save_meta(meta)
    return result


def combine(step: str, name: str, path: Path, entry_key: str, parts: list[StepResult]) -> StepResult:
    """A source's result from its shards' results, in order: rows and drops summed, timed by the shards that
    ran (not those found cached)."""
    dropped: Counter = Counter()
    for part in parts:
        dropped.update(part.dropped)
    return StepResult(step, name, path, entry_key, sum(p.rows_in for p in parts), sum(p.kept for p in parts),
                      dict(dropped), sum(p.seconds for p in parts if not p.cached))
