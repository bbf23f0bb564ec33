"""Near-duplicate dedup: MinHash LSH over character n-grams of each record's normalised key text.

- key text: what exact dedup's id is made from (the human turns of a chat joined by newlines, a
  pair's prompt, a text); normalised by lower-casing and turning every run of ASCII characters
  other than letters and digits into one space, so case, punctuation and spacing edits do not
  count (vectorised in Arrow and numpy, on the UTF-8 bytes);
- shingles: the UTF-8 byte ``ngram`` s of that text (a shorter text is one shingle), hashed in numpy;
- signatures: ``num_perm`` MinHash values per row from ``rensa`` (Rust; chosen over ``datasketch``
  by ``bench/near_dedup.py``);
- LSH: ``bands`` x ``rows`` chosen for ``threshold`` as datasketch does (least weighted false
  positive + false negative area, weighted towards recall); each band is hashed to one 64-bit key;
- memory: the band keys of kept rows live in a :class:`~bagel.dedup.SortedRuns` (16 bytes per band
  per kept row, sorted numpy runs spilled to disk past the budget), never as Python objects.

A row is a near copy when one of its band keys was stored by an earlier kept row (of this batch or
an earlier one), the rule datasketch's ``MinHashLSH.query`` applies, in load order. Of several such
rows, the one with the smallest reference is named (callers number rows in load order: the earliest).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bagel.dedup import SortedRuns

_WORD = np.zeros(256, dtype=bool)  # bytes that are part of a word: ASCII letters and digits, any non-ASCII byte
_WORD[[*range(48, 58), *range(65, 91), *range(97, 123), *range(128, 256)]] = True
SEED = 1
_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
_PRIME = np.uint64(1099511628211)
# Recall-leaning LSH (datasketch's default is 0.5/0.5): at threshold 0.8, num_perm 128, ngram 5 this gives
# 11 bands x 11 rows, which catches ~95% of lightly edited GSM8K questions and loses < 0.1% of distinct
# ones (0.5/0.5, 9 x 13, catches ~89%); tuned on even-numbered GSM8K train rows, checked on odd ones
# (tests/test_near_dedup.py).
FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT = 0.3, 0.7


def normalised_bytes(texts) -> tuple[np.ndarray, np.ndarray]:
    """Texts (strings or an Arrow string array; nulls as empty), lower-cased, each run of ASCII characters
    other than letters and digits (punctuation, spaces, underscores) as one space, trimmed: the UTF-8 bytes
    of all texts in one array, and each text's bounds in it (``len+1``). Non-ASCII characters are kept."""
    values = _array(texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.string()))
    values = pc.utf8_lower(pc.fill_null(values, "")).cast(pa.large_string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset: values.offset + len(values) + 1]
    buffer = values.buffers()[2]
    raw = (np.frombuffer(buffer, dtype=np.uint8)[offsets[0]: offsets[-1]] if buffer is not None and len(values)
           else np.zeros(0, dtype=np.uint8))
    bounds = offsets - offsets[0]
    word = _WORD[raw]
    after_word = np.r_[False, word[:-1]]
    after_word[bounds[:-1][bounds[:-1] < len(raw)]] = False  # a text never starts with a separator
    keep = word | after_word  # a separator run becomes its first byte
    data = np.where(word, raw, np.uint8(32))[keep]
    bounds = np.r_[0, np.cumsum(keep)][bounds]
    ends = bounds[1:]
    trailing = (ends > bounds[:-1]) & (data[np.maximum(ends - 1, 0)] == 32) if len(data) else ends < 0
    data = np.delete(data, ends[trailing] - 1)
    bounds = bounds - np.r_[0, np.cumsum(trailing)]
    return data, bounds


def normalise(text: str) -> str:
    """One text, as :func:`normalised_bytes` makes it."""
    data, _ = normalised_bytes([text])
    return data.tobytes().decode()


def _array(values) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def key_texts(table: pa.Table | pa.RecordBatch) -> pa.StringArray:
    """The text exact dedup's id is made from, per record: human turns (joined by newlines), prompt, or text."""
    n = table.num_rows
    chats = _array(table.column("conversations"))
    turns = pc.list_flatten(chats)
    owners = pc.list_parent_indices(chats).to_numpy()
    human = pc.fill_null(pc.equal(turns.field("from"), "human"), False)
    values = pc.fill_null(turns.field("value").filter(human), "")
    counts = np.bincount(owners[human.to_numpy(zero_copy_only=False)], minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, values), "\n")
    kind = _array(table.column("kind"))
    chosen = pc.if_else(pc.equal(kind, "dpo"), _array(table.column("prompt")),
                        pc.if_else(pc.equal(kind, "text"), _array(table.column("text")), joined))
    return pc.fill_null(chosen, "")


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over a uint64 array (a well-spread 64-bit hash of each value)."""
    with np.errstate(over="ignore"):
        z = values + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def _short_hash(data: bytes, ngram: int) -> int:
    """The rolling hash of ``data`` padded with zero bytes to ``ngram`` (as the numpy windows compute it)."""
    value = 0
    for byte in data.ljust(ngram, b"\0"):
        value = (value * int(_PRIME) + byte) & 0xFFFFFFFFFFFFFFFF
    return value


def shingle_hashes(texts, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashed byte ``ngram`` s of every normalised text, flat, and each row's offsets (``len+1``).

    A text shorter than ``ngram`` bytes is one shingle; an empty text has none.
    """
    data, bounds = normalised_bytes(texts)
    lengths = np.diff(bounds).astype(np.int64)
    counts = np.where(lengths >= ngram, lengths - ngram + 1, (lengths > 0).astype(np.int64))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.uint64), offsets
    rolling = np.zeros(max(len(data) - ngram + 1, 1), dtype=np.uint64)
    if len(data) >= ngram:
        wide = data.astype(np.uint64)
        with np.errstate(over="ignore"):
            for k in range(ngram):  # polynomial hash of each window, wrapping at 2**64
                rolling *= _PRIME
                rolling += wide[k: k + len(rolling)]
    row_ends = np.repeat(bounds[1:], lengths)[: len(rolling)]  # the end of the text each byte is in
    hashed = rolling[np.arange(len(row_ends)) + ngram <= row_ends]  # windows that stay inside their text
    short = np.flatnonzero((lengths > 0) & (lengths < ngram))
    if len(short):  # one shingle each, at its place among the others
        values = [_short_hash(data[bounds[row]: bounds[row + 1]].tobytes(), ngram) for row in short]
        hashed = np.insert(hashed, offsets[short].astype(np.int64) - np.arange(len(short)),
                           np.array(values, dtype=np.uint64))
    return hashed, offsets


def signatures(texts: list[str], ngram: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (uint32, ``rows x num_perm``) and which rows have any shingle."""
    import rensa

    tokens, offsets = shingle_hashes(texts, ngram)
    has = np.diff(offsets) > 0
    if not len(texts):
        return np.zeros((0, num_perm), dtype=np.uint32), has
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(tokens, offsets, num_perm, SEED)
    flat = np.fromiter(itertools.chain.from_iterable(matrix.to_rows()), dtype=np.uint32, count=len(texts) * num_perm)
    return flat.reshape(len(texts), num_perm), has


def _area(y: np.ndarray, x: np.ndarray) -> float:
    """The trapezoid-rule integral of ``y`` over ``x``."""
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))


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
            fp = _area(1 - (1 - low**rows) ** bands, low)
            fn = _area(1 - (1 - (1 - high**rows) ** bands), high)
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
        """For each row (its band keys), the smallest ref of the stored rows sharing a band with it, or -1."""
        matched = np.full(len(keys), -1, dtype=np.int64)
        if len(keys):
            found, values = self.store.lookup(keys.reshape(-1))
            found, values = found.reshape(keys.shape), values.reshape(keys.shape)
            hit = found.any(axis=1) & has
            smallest = np.where(found, values, np.iinfo(np.int64).max).min(axis=1)
            matched[hit] = smallest[hit]
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
            hits = [owners[k] for k in row_keys if k in owners]
            if hits:
                matched[row] = min(hits)
            else:
                for k in row_keys:
                    owners.setdefault(k, int(refs[row]))
