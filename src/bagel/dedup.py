"""Priority dedup: a seen-set of 64-bit id hashes, checked and filled source by source.

Sources are visited in load order (confidence descending, then name). Each declares
whether it checks the set, adds to it, both, or neither. Memory: 8 bytes per id in sorted
numpy runs (:class:`SortedRuns`); past ``memory_budget`` bytes the in-memory runs are merged and
spilled to a sorted ``.npy`` file on disk and memory-mapped, so data larger than memory still dedups
exactly (lookups binary-search every run).
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


class SortedRuns:
    """uint64 keys, each with an optional int64 payload, kept as sorted runs (a log-structured merge):
    a small level 0, in-memory runs merged when one is no more than twice the size of the next (so a key
    is re-merged O(log n) times, each merge linear), and, once the in-memory runs pass ``memory_budget``
    bytes, one merged run spilled to a ``.npy`` file and memory-mapped.

    Without a payload the keys are a set (repeats stored once); with one, every added key is kept and a
    lookup answers the smallest payload stored under it.
    """

    def __init__(self, memory_budget: int = 512 << 20, spill_dir: Path | None = None, payload: bool = False):
        self.memory_budget = memory_budget
        self.spill_dir = Path(spill_dir) if spill_dir else None
        self.payload = payload
        self.level0 = self._empty()
        self.runs: list[tuple[np.ndarray, np.ndarray | None]] = []
        self.spilled: list[np.ndarray] = []
        self.spilled_payloads: list[np.ndarray] = []

    def _empty(self) -> tuple[np.ndarray, np.ndarray | None]:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64) if self.payload else None

    def _all_runs(self):
        yield self.level0
        yield from self.runs
        yield from zip(self.spilled, self.spilled_payloads or [None] * len(self.spilled))

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Which ``keys`` are stored, and (with payloads) the smallest payload stored under each found key
        (-1 if not found)."""
        order = np.argsort(keys)
        needles = keys[order]  # sorted needles: binary searches walk the run in order (fewer cache misses)
        found = np.zeros(len(keys), dtype=bool)
        values = np.full(len(keys), np.iinfo(np.int64).max, dtype=np.int64) if self.payload else None
        for run, run_values in self._all_runs():
            if len(run):
                pos = np.searchsorted(run, needles)  # the first copy of a key: its smallest payload
                pos[pos == len(run)] = 0
                hit = run[pos] == needles
                if values is not None:
                    values[hit] = np.minimum(values[hit], run_values[pos[hit]])
                found |= hit
        if values is not None:
            values[~found] = -1
            values[order] = values.copy()
        found[order] = found.copy()
        return found, values

    def _merge(self, older, newer):
        """Two sorted runs as one; equal keys keep the older first (and once, without payloads)."""
        keys_a, keys_b = older[0], newer[0]
        at = np.searchsorted(keys_a, keys_b, side="right") + np.arange(len(keys_b))
        from_b = np.zeros(len(keys_a) + len(keys_b), dtype=bool)
        from_b[at] = True
        keys = np.empty(len(from_b), dtype=np.uint64)
        keys[from_b], keys[~from_b] = keys_b, keys_a
        values = None
        if self.payload:
            values = np.empty(len(from_b), dtype=np.int64)
            values[from_b], values[~from_b] = newer[1], older[1]
        else:
            first = np.r_[True, keys[1:] != keys[:-1]]
            keys = keys[first]
        return keys, values

    def _sorted(self, keys: np.ndarray, payloads: np.ndarray | None):
        if not self.payload:
            return np.unique(keys), None
        order = np.argsort(keys, kind="stable")
        return keys.astype(np.uint64)[order], payloads.astype(np.int64)[order]

    def add(self, keys: np.ndarray, payloads: np.ndarray | None = None) -> None:
        """Store ``keys`` (with their ``payloads`` when this store has them)."""
        self.level0 = self._merge(self.level0, self._sorted(keys, payloads))
        if len(self.level0[0]) < _LEVEL0_MAX:
            return
        self.runs.append(self.level0)
        self.level0 = self._empty()
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]):
            newer = self.runs.pop()
            self.runs[-1] = self._merge(self.runs[-1], newer)
        size = sum(k.nbytes + (v.nbytes if v is not None else 0) for k, v in self.runs)
        if size > self.memory_budget and self.spill_dir is not None:
            self._spill()

    def _spill(self) -> None:
        merged = self.runs[0]
        for run in self.runs[1:]:
            merged = self._merge(merged, run)
        self.runs = []
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        path = self.spill_dir / f"run-{len(self.spilled):04d}.npy"
        np.save(path, merged[0])
        self.spilled.append(np.load(path, mmap_mode="r"))
        if self.payload:
            values = path.with_suffix(".payload.npy")
            np.save(values, merged[1])
            self.spilled_payloads.append(np.load(values, mmap_mode="r"))


class SeenSet(SortedRuns):
    """The seen-set of priority dedup: 64-bit id hashes (see :class:`SortedRuns`)."""

    def __init__(self, memory_budget: int = 512 << 20, spill_dir: Path | None = None):
        super().__init__(memory_budget, spill_dir)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def contains(self, values: np.ndarray) -> np.ndarray:
        """A mask of which ``values`` are in the set."""
        return self.lookup(values)[0]

    def add(self, values: np.ndarray, payloads: np.ndarray | None = None) -> None:
        """Add ``values`` (which must not be in the set yet; duplicates among them are fine)."""
        self.size += len(np.unique(values))
        super().add(values)

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
