"""Priority dedup: a seen-set of 64-bit id hashes, checked and filled source by source.

Sources are visited in load order (confidence descending, then name). Each declares
whether it checks the set, adds to it, both, or neither. Memory: 8 bytes per id in sorted
numpy runs; past ``memory_budget`` bytes the in-memory run is spilled to a sorted ``.npy``
file on disk and memory-mapped, so data larger than memory still dedups exactly (lookups
binary-search every run).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

_LEVEL0_MAX = 1 << 16


def id_hashes(ids: list[str]) -> np.ndarray:
    """64-bit hashes of record ids (uint64)."""
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") for i in ids),
        dtype=np.uint64,
        count=len(ids),
    )


class SeenSet:
    """A set of uint64 hashes kept as sorted runs: a small level 0, a main run, spilled runs."""

    def __init__(self, memory_budget: int = 512 << 20, spill_dir: Path | None = None):
        self.memory_budget = memory_budget
        self.spill_dir = Path(spill_dir) if spill_dir else None
        self.level0 = np.empty(0, dtype=np.uint64)
        self.main = np.empty(0, dtype=np.uint64)
        self.spilled: list[np.ndarray] = []
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def contains(self, values: np.ndarray) -> np.ndarray:
        """A mask of which ``values`` are in the set."""
        found = np.zeros(len(values), dtype=bool)
        for run in (self.level0, self.main, *self.spilled):
            if len(run):
                pos = np.searchsorted(run, values)
                pos[pos == len(run)] = 0
                found |= run[pos] == values
        return found

    def add(self, values: np.ndarray) -> None:
        """Add ``values`` (which must not be in the set yet; duplicates among them are fine)."""
        new = np.unique(values)
        self.size += len(new)
        self.level0 = np.union1d(self.level0, new)
        if len(self.level0) >= _LEVEL0_MAX:
            self.main = np.union1d(self.main, self.level0)
            self.level0 = np.empty(0, dtype=np.uint64)
            if self.main.nbytes > self.memory_budget and self.spill_dir is not None:
                self._spill()

    def _spill(self) -> None:
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"run-{len(self.spilled):04d}.npy"
        np.save(path, self.main)
        self.spilled.append(np.load(path, mmap_mode="r"))
        self.main = np.empty(0, dtype=np.uint64)

    def filter(self, ids: list[str], *, check: bool, add: bool) -> np.ndarray:
        """The keep-mask of a batch of ids under a source's policy, updating the set.

        ``check``: drop ids already seen, and repeats within the batch (first kept).
        ``add``: remember the kept ids (all ids when not checking).
        """
        values = id_hashes(ids)
        keep = np.ones(len(ids), dtype=bool)
        if check:
            keep &= ~self.contains(values)
            _, first = np.unique(values, return_index=True)
            unique_mask = np.zeros(len(ids), dtype=bool)
            unique_mask[first] = True
            keep &= unique_mask
        if add:
            fresh = values[keep] if check else values[~self.contains(values)]
            if len(fresh):
                self.add(fresh)
        return keep
