"""Near-duplicate dedup: MinHash LSH over character n-grams of each record's normalised key text.

- key text: what exact dedup's id is made from (the human turns of a chat joined by newlines, a
  pair's prompt, a text); normalised by case-folding and turning every run of non-word characters
  into one space, so case, punctuation and spacing edits do not count;
- shingles: the UTF-8 byte ``ngram`` s of that text (a shorter text is one shingle), hashed in numpy;
- signatures: ``num_perm`` MinHash values per row from ``rensa`` (Rust; chosen over ``datasketch``
  by ``bench/near_dedup.py``);
- LSH: ``bands`` x ``rows`` chosen for ``threshold`` as datasketch does (least weighted false
  positive + false negative area, weighted towards recall); each band is hashed to one 64-bit key;
- memory: the band keys of kept rows live in a :class:`~bagel.dedup.SortedRuns` (16 bytes per band
  per kept row, sorted numpy runs spilled to disk past the budget), never as Python objects.

A row is a near copy when one of its band keys was stored by an earlier kept row (of this batch or
an earlier one), the rule datasketch's ``MinHashLSH.query`` applies, in load order.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from bagel.dedup import SortedRuns

NON_WORD = re.compile(r"[\W_]+")
SEED = 1
_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(1099511628211)
# Recall-leaning LSH (datasketch's default is 0.5/0.5): at threshold 0.8, num_perm 128, ngram 5 this gives
# 11 bands x 11 rows, which catches ~95% of lightly edited GSM8K questions and loses < 0.1% of distinct
# ones (0.5/0.5, 9 x 13, catches ~89%); tuned on even-numbered GSM8K train rows, checked on odd ones
# (tests/test_near_dedup.py).
FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT = 0.3, 0.7


def normalise(text: str) -> str:
    """Case-folded, every run of non-word characters (punctuation, spaces, underscores) as one space."""
    return NON_WORD.sub(" ", text.casefold()).strip()


def key_texts(table: pa.Table | pa.RecordBatch) -> list[str]:
    """The text exact dedup's id is made from, per record: human turns (joined by newlines), prompt, or text."""
    out = []
    for kind, turns, prompt, body in zip(*(table.column(c).to_pylist() for c in
                                           ("kind", "conversations", "prompt", "text"))):
        if kind == "dpo":
            out.append(prompt or "")
        elif kind == "text":
            out.append(body or "")
        else:
            out.append("\n".join(t["value"] or "" for t in turns or [] if t["from"] == "human"))
    return out


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over a uint64 array (a well-spread 64-bit hash of each value)."""
    with np.errstate(over="ignore"):
        z = values + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def shingle_hashes(texts: list[str], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashed byte ``ngram`` s of every normalised text, flat, and each row's offsets (``len+1``).

    A text shorter than ``ngram`` bytes is one shingle; an empty text has none.
    """
    encoded = [normalise(t).encode() for t in texts]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    padded = np.where((lengths > 0) & (lengths < ngram), ngram, lengths)
    buf = np.frombuffer(b"".join(b.ljust(n, b"\0") for b, n in zip(encoded, padded)), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(padded)[:-1]]) if len(padded) else np.zeros(0, dtype=np.int64)
    windows = np.maximum(padded - ngram + 1, 0)
    offsets = np.concatenate([[0], np.cumsum(windows)]).astype(np.uint64)
    if not len(buf) or not windows.sum():
        return np.zeros(0, dtype=np.uint64), offsets
    rolling = np.zeros(len(buf) - ngram + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(ngram):  # polynomial hash of each window, wrapping at 2**64
            rolling = rolling * _PRIME + buf[k: k + len(rolling)].astype(np.uint64)
    first = np.repeat(starts, windows)
    within = np.arange(int(windows.sum())) - np.repeat(offsets[:-1].astype(np.int64), windows)
    return mix64(rolling[first + within]), offsets


def signatures(texts: list[str], ngram: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (uint32, ``rows x num_perm``) and which rows have any shingle."""
    import rensa

    tokens, offsets = shingle_hashes(texts, ngram)
    has = np.diff(offsets) > 0
    if not len(texts):
        return np.zeros((0, num_perm), dtype=np.uint32), has
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(tokens, offsets, num_perm, SEED)
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(texts), num_perm), has


@functools.lru_cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """``(bands, rows)`` with ``bands * rows <= num_perm`` that minimise the false positive area below
    ``threshold`` plus the false negative area above it, weighted :data:`FALSE_POSITIVE_WEIGHT` and
    :data:`FALSE_NEGATIVE_WEIGHT` (datasketch's MinHashLSH ``weights``)."""
    best, best_error = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            low = np.linspace(0, threshold, 200)
            high = np.linspace(threshold, 1, 200)
            fp = np.trapezoid(1 - (1 - low**rows) ** bands, low)
            fn = np.trapezoid(1 - (1 - (1 - high**rows) ** bands), high)
            error = FALSE_POSITIVE_WEIGHT * fp + FALSE_NEGATIVE_WEIGHT * fn
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of each signature (``rows x bands``); the band's number is part of it."""
    keys = np.empty((len(sigs), bands), dtype=np.uint64)
    for band in range(bands):
        h = np.full(len(sigs), band + 1, dtype=np.uint64)
        for col in range(band * rows, (band + 1) * rows):
            h = mix64(h ^ sigs[:, col].astype(np.uint64))
        keys[:, band] = h
    return keys


class NearIndex:
    """The band keys of every kept row, each with a reference (an int64 the caller chooses) to that row."""

    def __init__(self, threshold: float, num_perm: int, ngram: int, memory_budget: int = 256 << 20,
                 spill_dir: Path | None = None):
        self.ngram, self.num_perm = ngram, num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)
        self.store = SortedRuns(memory_budget, spill_dir, payload=True)

    def keys(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The band keys of ``texts`` and which have any shingle (rows without one are never near copies)."""
        sigs, has = signatures(texts, self.ngram, self.num_perm)
        return band_keys(sigs, self.bands, self.rows), has

    def add(self, keys: np.ndarray, refs: np.ndarray) -> None:
        """Remember rows (their band keys) under ``refs``."""
        if len(keys):
            self.store.add(keys.reshape(-1), np.repeat(refs, keys.shape[1]))

    def filter(self, texts: list[str], refs: np.ndarray, *, check: bool, add: bool) -> np.ndarray:
        """For each row, the ref of the earlier kept row it nearly copies, or -1; kept rows are added
        (with ``add``). ``check`` False: nothing is a copy (the rows are only remembered)."""
        return self.match(*self.keys(texts), refs, check=check, add=add)

    def find(self, keys: np.ndarray, has: np.ndarray) -> np.ndarray:
        """For each row (its band keys), the ref of a stored row sharing a band, or -1."""
        matched = np.full(len(keys), -1, dtype=np.int64)
        if len(keys):
            found, values = self.store.lookup(keys.reshape(-1))
            found, values = found.reshape(keys.shape), values.reshape(keys.shape)
            hit = found.any(axis=1) & has
            matched[hit] = values[np.flatnonzero(hit), np.argmax(found, axis=1)[hit]]
        return matched

    def match(self, keys: np.ndarray, has: np.ndarray, refs: np.ndarray, *, check: bool, add: bool) -> np.ndarray:
        """:meth:`filter` over band keys already computed (see :meth:`keys`)."""
        matched = np.full(len(keys), -1, dtype=np.int64)
        if check and len(keys):
            matched = self.find(keys, has)
            self._within_batch(keys, has, refs, matched)
        if add:
            keep = (matched < 0) & has
            self.add(keys[keep], refs[keep])
        return matched

    @staticmethod
    def _within_batch(keys: np.ndarray, has: np.ndarray, refs: np.ndarray, matched: np.ndarray) -> None:
        """Mark rows that nearly copy an earlier kept row of the same batch (in order)."""
        open_rows = np.flatnonzero((matched < 0) & has)
        if len(open_rows) < 2:
            return
        flat = keys[open_rows].reshape(-1)
        values, counts = np.unique(flat, return_counts=True)
        shared = values[counts > 1]
        if not len(shared):
            return
        owners: dict[int, int] = {}
        is_shared = np.isin(keys[open_rows], shared)
        for index in np.flatnonzero(is_shared.any(axis=1)):
            row = open_rows[index]
            row_keys = keys[row][is_shared[index]].tolist()
            hit = next((owners[k] for k in row_keys if k in owners), None)
            if hit is not None:
                matched[row] = hit
            else:
                for k in row_keys:
                    owners.setdefault(k, int(refs[row]))
