"""MinHash signatures and LSH band keys of key texts, compiled with numba: one pass over each text's bytes.

- pieces: the key text of each record (:func:`bagel.near_dedup.key_pieces`) or given texts, lower-cased by
  Arrow, as one byte buffer;
- normalising: a word byte (ASCII letter or digit, any non-ASCII byte) is kept, each run of other bytes
  is one space, none at either end, so case, punctuation and spacing edits do not count;
- shingles: the byte ``ngram`` s of that text (a shorter text is one shingle, padded with zeros), each
  read as little-endian 8-byte words and hashed with splitmix64's finaliser; up to 8 bytes, one word
  rolled along the text;
- signatures: ``num_perm`` values per row by one-permutation MinHash with optimal densification (each
  shingle hashed once, not ``num_perm`` times);
- band keys: each band of ``rows`` signature values hashed to one 64-bit key, with the band's number;
- sketches: the low 8 bits of each signature value, for :func:`bagel.near_dedup.resolve_in_order` to
  confirm candidates.

One kernel does it all for a batch of rows, without the GIL (callers run batches on parallel threads).
numba compiles the kernels on first use and caches them beside this file (about 5 s, once per install);
loading them costs a process about 170 MB of resident memory, so only the near pass imports this module.
``bench/near_dedup.py`` measures it against ``rensa`` (Rust, classic MinHash: its digest matrix leaves
Rust only as Python lists) and ``datasketch``.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bagel.near_dedup import key_pieces, lsh_params
from bagel.records import as_array

_WORD = np.zeros(256, dtype=np.uint8)  # 1 for bytes that are part of a word: ASCII letters and digits, non-ASCII
_WORD[[*range(48, 58), *range(65, 91), *range(97, 123), *range(128, 256)]] = 1
SEED = 1
EMPTY = np.uint32(0xFFFFFFFF)  # the value of a bin no shingle fell in
DENSIFY_TRIES = 64  # random donor bins tried per empty bin before the row's first filled bin
_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def lowered_bytes(texts) -> tuple[np.ndarray, np.ndarray]:
    """Texts (strings or an Arrow string array; nulls as empty) lower-cased by Arrow: the UTF-8 bytes of all
    texts in one array, and each text's bounds in it (``len+1``)."""
    values = pc.utf8_lower(pc.fill_null(as_array(texts), "")).cast(pa.large_string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset: values.offset + len(values) + 1]
    buffer = values.buffers()[2]
    raw = np.frombuffer(buffer if buffer is not None and len(values) else b"", dtype=np.uint8)  # read-only: one
    raw = raw[offsets[0]: offsets[-1]] if len(raw) else raw  # compiled kernel type
    return raw, offsets - offsets[0]


@numba.njit(cache=True)
def _mix(z: np.uint64) -> np.uint64:
    """splitmix64's finaliser (a well-spread 64-bit hash of ``z``)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def _hash(text: np.ndarray, at: int, size: int, ngram: int) -> np.uint64:
    """The hash of the ``ngram`` bytes at ``text[at:]``, those from ``size`` on read as zeros: read 8 at a
    time as little-endian words, each folded in with :func:`_mix`."""
    hashed = np.uint64(SEED)
    for first in range(0, ngram, 8):
        word = np.uint64(0)
        for k in range(min(8, ngram - first, max(size - first, 0))):
            word |= np.uint64(text[at + first + k]) << np.uint64(8 * k)
        hashed = _mix(word ^ hashed)
    return hashed


@numba.njit(cache=True)
def _put(hashed: np.uint64, count: int, out: np.ndarray, sig: np.ndarray) -> None:
    """Shingle number ``count`` (``hashed``) into ``out``, or into the bins of ``sig`` when it has any: each
    shingle falls in one bin (by its high 32 bits), which keeps the least low 32 bits."""
    if len(sig):
        bin_ = ((hashed >> np.uint64(32)) * np.uint64(len(sig))) >> np.uint64(32)
        sig[bin_] = min(sig[bin_], np.uint32(hashed & np.uint64(0xFFFFFFFF)))
    else:
        out[count] = hashed


@numba.njit(cache=True)
def _normalised(raw: np.ndarray, bounds: np.ndarray, first: int, stop: int, text: np.ndarray) -> int:
    """One key text, the pieces ``first`` to ``stop`` (each ``raw[bounds[i]: bounds[i + 1]]``, lower-cased)
    with a separator between pieces, normalised into ``text`` (room for a byte more than it writes): its
    length. A word byte (ASCII letter or digit, any non-ASCII byte) is kept; a run of other bytes is one
    space, none at either end. (Without branches: each byte is written, and kept by moving on or not.)"""
    length, spaced = 0, 1  # spaced: the last byte kept is a space, or none is
    for piece in range(first, stop):
        text[length] = 32
        length += 1 - spaced
        spaced = 1
        for at in range(bounds[piece], bounds[piece + 1]):
            byte = raw[at]
            word = _WORD[byte]
            text[length] = byte if word else 32
            length += word | (1 - spaced)
            spaced = 1 - word
    return length - 1 if length and text[length - 1] == 32 else length


@numba.njit(cache=True)
def _shingles(text: np.ndarray, length: int, ngram: int, out: np.ndarray, sig: np.ndarray) -> int:
    """The hashed byte ``ngram`` s of a normalised ``text[:length]`` (see :func:`_hash`), each put (see
    :func:`_put`): how many. A text shorter than ``ngram`` bytes is one shingle, padded with zeros; an empty
    text has none. N-grams of up to 8 bytes are one word, rolled along the text a byte at a time."""
    if length < ngram:
        if length:
            _put(_hash(text, 0, length, ngram), 0, out, sig)
        return min(length, 1)
    if ngram > 8:
        for at in range(length - ngram + 1):
            _put(_hash(text, at, ngram, ngram), at, out, sig)
        return length - ngram + 1
    top, word = np.uint64(8 * ngram - 8), np.uint64(0)
    for at in range(ngram - 1):
        word = (word >> np.uint64(8)) | (np.uint64(text[at]) << top)
    for at in range(ngram - 1, length):
        word = (word >> np.uint64(8)) | (np.uint64(text[at]) << top)
        _put(_mix(word ^ np.uint64(SEED)), at - ngram + 1, out, sig)
    return length - ngram + 1


@numba.njit(cache=True)
def _widest(bounds: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> int:
    """The most bytes any row's pieces hold, with a separator after each piece, and one more."""
    widest = 1
    for row in range(len(starts)):
        widest = max(widest, bounds[stops[row]] - bounds[starts[row]] + stops[row] - starts[row] + 1)
    return widest


def pieces(values) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Records (a table or batch: their key texts, :func:`bagel.near_dedup.key_pieces`) or texts (strings or
    an Arrow string array; nulls as empty): the lower-cased UTF-8 bytes of every piece, each piece's bounds
    in them, and each row's first piece and the piece after its last."""
    if isinstance(values, (pa.Table, pa.RecordBatch)):
        texts, starts, stops = key_pieces(values)
    else:
        texts = as_array(values)
        starts = np.arange(len(texts), dtype=np.int64)
        stops = starts + 1
    raw, bounds = lowered_bytes(texts)
    return raw, bounds, starts, stops


@numba.njit(cache=True)
def _shingle_kernel(raw: np.ndarray, bounds: np.ndarray, starts: np.ndarray, stops: np.ndarray,
                    ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """The shingle hashes of the rows of :func:`pieces`, flat, and each row's offsets."""
    text, no_sig = np.empty(_widest(bounds, starts, stops), np.uint8), np.empty(0, np.uint32)
    offsets = np.zeros(len(starts) + 1, np.int64)
    hashed = np.empty(len(raw) + 2 * len(bounds), np.uint64)  # a shingle per byte or separator, or one per row
    for row in range(len(starts)):
        length = _normalised(raw, bounds, starts[row], stops[row], text)
        offsets[row + 1] = offsets[row] + _shingles(text, length, ngram, hashed[offsets[row]:], no_sig)
    return hashed[: offsets[-1]], offsets


def shingle_hashes(values, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashed byte ``ngram`` s of every normalised text (see :func:`_shingles`; ``values``: records or
    texts, as :func:`pieces` takes them), flat, and each row's offsets (``len+1``)."""
    return _shingle_kernel(*pieces(values), ngram)


@functools.lru_cache
def _donors(num_perm: int) -> np.ndarray:
    """``[try, bin]``: the bin an empty bin borrows from at each try (the same for every row)."""
    donors = np.empty((DENSIFY_TRIES, num_perm), dtype=np.int64)
    for attempt in range(DENSIFY_TRIES):
        for bin_ in range(num_perm):
            donors[attempt, bin_] = int(_mix(np.uint64(attempt * num_perm + bin_))) % num_perm
    return donors


@numba.njit(cache=True)
def _densify(sig: np.ndarray, donors: np.ndarray, filled: np.ndarray, empty: np.ndarray) -> None:
    """Fill the empty bins of a one-permutation MinHash signature that has at least one filled bin: each
    borrows the value of the first filled bin among its donors (``donors[try, bin]``), else of the row's
    first filled bin (optimal densification). Scratch: ``filled`` and ``empty``, a slot per bin. (All empty
    bins try their next donor together, without branches: a bin is kept in ``empty`` or not.)"""
    left = 0
    for bin_ in range(len(sig)):
        filled[bin_] = sig[bin_] != EMPTY
        empty[left] = bin_
        left += 1 - filled[bin_]
    for attempt in range(donors.shape[0]):
        if not left:
            return
        still = 0
        for i in range(left):
            bin_ = empty[i]
            donor = donors[attempt, bin_]
            sig[bin_] = sig[donor] if filled[donor] else sig[bin_]
            empty[still] = bin_
            still += 1 - filled[donor]
        left = still
    first = np.argmax(filled)  # the rare bins no try fills (rows with very few shingles)
    for i in range(left):
        sig[empty[i]] = sig[first]


@numba.njit(cache=True)
def _band_keys_into(sig: np.ndarray, rows_per_band: int, keys: np.ndarray) -> None:
    """One 64-bit key per band of the signature ``sig`` into ``keys``; the band's number is part of it."""
    for band in range(len(keys)):
        key = np.uint64(band + 1)
        for col in range(rows_per_band):
            key = _mix(key ^ np.uint64(sig[band * rows_per_band + col]))
        keys[band] = key


@numba.njit(cache=True)
def band_keys(sigs: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """The band keys (``rows x bands``) of signatures (``rows x num_perm``, uint32), as the near pass makes them."""
    keys = np.empty((len(sigs), bands), np.uint64)
    for row in range(len(sigs)):
        _band_keys_into(sigs[row], rows_per_band, keys[row])
    return keys


@numba.njit(cache=True, nogil=True)
def _band_kernel(raw: np.ndarray, bounds: np.ndarray, starts: np.ndarray, stops: np.ndarray, ngram: int,
                 donors: np.ndarray, bands: int, rows_per_band: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band keys, sketches and which rows have a shingle, for the rows of :func:`pieces`."""
    rows, num_perm = len(starts), donors.shape[1]
    keys = np.empty((rows, bands), np.uint64)
    sketches = np.full((rows, num_perm), np.uint8(EMPTY & 0xFF))
    has = np.zeros(rows, np.bool_)
    text, no_out = np.empty(_widest(bounds, starts, stops), np.uint8), np.empty(0, np.uint64)
    sig, filled, empty = np.empty(num_perm, np.uint32), np.empty(num_perm, np.uint8), np.empty(num_perm, np.int64)
    for row in range(rows):
        sig[:] = EMPTY
        if _shingles(text, _normalised(raw, bounds, starts[row], stops[row], text), ngram, no_out, sig):
            has[row] = True
            _densify(sig, donors, filled, empty)
        _band_keys_into(sig, rows_per_band, keys[row])
        for bin_ in range(num_perm):
            sketches[row, bin_] = np.uint8(sig[bin_] & np.uint32(0xFF))
    return keys, sketches, has


class BandKeys:
    """The LSH band keys of texts under one near-dedup setting (``threshold``, ``num_perm``, ``ngram``)."""

    def __init__(self, threshold: float, num_perm: int, ngram: int):
        self.ngram, self.num_perm = ngram, num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)

    def keys(self, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The band keys of ``values`` (records or texts, as :func:`pieces` takes them), their sketches (the
        low 8 bits of each signature value, for :func:`bagel.near_dedup.resolve_in_order` to confirm
        candidates) and which have any shingle (rows without one are never near copies). The kernel runs
        without the GIL: threads calling this at once run on as many cores."""
        return _band_kernel(*pieces(values), self.ngram, _donors(self.num_perm), self.bands, self.rows)
