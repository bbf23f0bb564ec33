"""Deterministic sampling and the per-source cap: keep the items with the lowest per-item hash.

Which items survive depends only on the seed, a purpose string and each item's id, so a
sample is the same whatever the row order, batching or number of workers.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from bagel.records import item_hash


def hashes(ids: list[str], seed: int, purpose: str) -> np.ndarray:
    """The per-item hashes of ``ids`` as a uint64 array."""
    return np.fromiter((item_hash(seed, purpose, i) for i in ids), dtype=np.uint64, count=len(ids))


def lowest(item_hashes: np.ndarray, n: int) -> np.ndarray:
    """A boolean mask selecting the ``n`` smallest hashes (all when there are no more than ``n``)."""
    mask = np.zeros(len(item_hashes), dtype=bool)
    if n >= len(item_hashes):
        mask[:] = True
    elif n > 0:
        order = np.lexsort((np.arange(len(item_hashes)), item_hashes))  # ties broken by position
        mask[order[:n]] = True
    return mask


def quotas(stratum_counts: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of ``n`` over strata (largest remainders first, ties by name)."""
    total = sum(stratum_counts.values())
    if total <= n:
        return dict(stratum_counts)
    exact = {s: n * c / total for s, c in stratum_counts.items()}
    alloc = {s: int(v) for s, v in exact.items()}
    left = n - sum(alloc.values())
    for s in sorted(exact, key=lambda s: (-(exact[s] - alloc[s]), s))[:left]:
        alloc[s] += 1
    return alloc


def sample_mask(
    ids: list[str], strata: list[str] | None, n: int, stratify: str | None, seed: int, purpose: str
) -> np.ndarray:
    """Which of ``ids`` a sample of ``n`` keeps.

    ``stratify``: None (one pool), ``"proportional"`` (each stratum its share of ``n``) or
    ``"each"`` (``n`` from every stratum).
    """
    item_hashes = hashes(ids, seed, purpose)
    if stratify is None or strata is None:
        return lowest(item_hashes, n)
    labels = np.asarray(["" if s is None else str(s) for s in strata], dtype=object)
    counts = Counter(labels.tolist())
    want = quotas(counts, n) if stratify == "proportional" else {s: min(n, c) for s, c in counts.items()}
    mask = np.zeros(len(ids), dtype=bool)
    for stratum, k in want.items():
        index = np.flatnonzero(labels == stratum)
        mask[index[lowest(item_hashes[index], k)]] = True
    return mask
