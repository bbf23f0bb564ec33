"""Per-source benchmark coverage (as in Tulu 3): for each source x benchmark, the share of the benchmark's
items that the source holds, from the removal records of a decontamination run."""

from __future__ import annotations

from collections import defaultdict


def coverage(removals: list[dict]) -> dict[str, dict[str, float]]:
    """``{source: {benchmark: distinct matched items / items in the benchmark}}`` (rounded to 6 places).

    Each removal record carries ``benchmark_items`` (the benchmark's item count); records without it
    (written by an older version) are skipped.
    """
    found: dict[tuple[str, str], set] = defaultdict(set)
    sizes: dict[str, int] = {}
    for r in removals:
        if r.get("benchmark_items"):
            found[(r["source"], r["benchmark"])].add(r["item_index"])
            sizes[r["benchmark"]] = int(r["benchmark_items"])
    out: dict[str, dict[str, float]] = {}
    for (source, bench), items in sorted(found.items()):
        out.setdefault(source, {})[bench] = round(len(items) / sizes[bench], 6)
    return out


def over_threshold(removals: list[dict], threshold: float | None) -> dict[str, float]:
    """Per source, its highest benchmark coverage, for the sources whose coverage exceeds ``threshold``."""
    if threshold is None:
        return {}
    return {source: max(shares.values()) for source, shares in coverage(removals).items()
            if max(shares.values()) > threshold}
