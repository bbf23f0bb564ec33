"""Deterministic sampling and the per-source cap: keep the items with the lowest per-item hash.

Which items survive depends only on the seed, a purpose string and each item's id, so a
sample is the same whatever the row order, batching or number of workers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from bagel.records import item_hash


def hashes(ids: Iterable[list[str]], seed: int, purpose: str) -> np.ndarray:
    """The per-item hashes of ``ids``, given in batches (lists), as one uint64 array."""
    parts = [np.fromiter((item_hash(seed, purpose, i) for i in batch), dtype=np.uint64, count=len(batch))
             for batch in ids]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


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


def sample_mask(item_hashes: np.ndarray, strata: list[str] | None, n: int, stratify: str | None) -> np.ndarray:
    """Which items (given by their :func:`hashes`) a sample of ``n`` keeps.

    ``stratify``: None (one pool), ``"proportional"`` (each stratum its share of ``n``) or
    ``"each"`` (``n`` from every stratum).
    """
    if stratify is None or strata is None:
        return lowest(item_hashes, n)
    labels = np.asarray(["" if s is None else str(s) for s in strata], dtype=object)
    counts = Counter(labels.tolist())
    want = quotas(counts, n) if stratify == "proportional" else {s: min(n, c) for s, c in counts.items()}
    mask = np.zeros(len(item_hashes), dtype=bool)
    for stratum, k in want.items():
        index = np.flatnonzero(labels == stratum)
        mask[index[lowest(item_hashes[index], k)]] = True
    return mask
