"""MinHash signatures and LSH band keys of key texts, compiled with numba: one pass over each text's bytes.

- pieces: the key text of each record (:func:`bagel.near_dedup.key_pieces`) or given texts, read in place
  from their Arrow buffers (no copy); pieces holding a non-ASCII byte are lower-cased by Arrow first;
- normalising: ASCII letters are lower-cased, a word byte (ASCII letter or digit, any non-ASCII byte) is
  kept, each run of other bytes is one space, none at either end, so case, punctuation and spacing edits
  do not count;
- shingles: the byte ``ngram`` s of that text (a shorter text is one shingle, padded with zeros), each
  read as little-endian 8-byte words and hashed with splitmix64's finaliser; up to 8 bytes, one word
  rolled along the text;
- signatures: ``num_perm`` values per row by one-permutation MinHash with optimal densification (each
  shingle hashed once, not ``num_perm`` times);
- band keys: each band of ``rows`` signature values hashed to one 64-bit key, with the band's number (a
  sum of the values times odd multipliers, mixed);
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

_NORMAL = np.full(256, 32, dtype=np.uint8)  # each byte as normalising keeps it: 32 (space) for non-word bytes
_NORMAL[[*range(48, 58), *range(97, 123), *range(128, 256)]] = [*range(48, 58), *range(97, 123), *range(128, 256)]
_NORMAL[65:91] = range(97, 123)  # ASCII capitals lower-cased
SOURCES = 4  # the byte buffers pieces are read from: the records' turns, prompts and texts, then lower-cased ones
SEED = 1
EMPTY = np.uint32(0xFFFFFFFF)  # the value of a bin no shingle fell in
DENSIFY_TRIES = 64  # random donor bins tried per empty bin before the row's first filled bin
_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _readonly(data) -> np.ndarray:
    """``data`` (an Arrow buffer, or None) as a read-only byte array (the one type the kernels take)."""
    raw = np.frombuffer(data if data is not None else b"", dtype=np.uint8)
    raw.setflags(write=False)
    return raw


def _bounds(array: pa.Array, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A string array's bytes (its data buffer, not copied), and where each string ``array[i]`` for ``i`` in
    ``index`` starts and ends in them (a null as empty)."""
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if pa.types.is_large_string(array.type) else np.int32)
    offsets = offsets[array.offset: array.offset + len(array) + 1]
    begins, ends = offsets[index].astype(np.int64), offsets[index + 1].astype(np.int64)
    if array.null_count:
        ends = np.where(array.is_valid().to_numpy(zero_copy_only=False)[index], ends, begins)
    return _readonly(array.buffers()[2] if len(array) else None), begins, ends


@numba.njit(cache=True)
def _non_ascii(raw: np.ndarray, begins: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which pieces (``raw[begins[i]: ends[i]]``) hold a byte of 128 or more (read 8 bytes at a time; none
    when the whole buffer holds none)."""
    words, high = raw[: len(raw) // 8 * 8].view(np.uint64), np.uint64(0x8080808080808080)
    out = np.zeros(len(begins), np.bool_)
    seen = np.uint64(0)
    for word in words:
        seen |= word
    for at in range(len(words) * 8, len(raw)):
        seen |= np.uint64(raw[at])
    if not seen & high:
        return out
    for piece in range(len(begins)):
        begin, end = begins[piece], ends[piece]
        first, last = min((begin + 7) // 8, end // 8), end // 8  # the whole words inside the piece
        seen = np.uint64(0)
        for at in range(begin, min(first * 8, end)):
            seen |= np.uint64(raw[at])
        for word in range(first, last):
            seen |= words[word]
        for at in range(max(last * 8, begin), end):
            seen |= np.uint64(raw[at])
        out[piece] = (seen & high) != 0
    return out


def _piece_bytes(arrays: list[pa.Array], indices: list[np.ndarray]) -> tuple[tuple, np.ndarray, np.ndarray,
                                                                                 np.ndarray]:
    """The bytes of each piece (``arrays[s][i]`` for ``i`` in ``indices[s]``, numbered in that order), read in
    place: :data:`SOURCES` byte buffers, and each piece's buffer, start and end in it. Pieces holding a
    non-ASCII byte are lower-cased by Arrow, into the last buffer (normalising lower-cases ASCII itself)."""
    raws, begins, ends, lowered, wide, first = [], [], [], [], [], 0
    for array, index in zip(arrays, indices):
        raw, begin, end = _bounds(array, index)
        unicode = np.flatnonzero(_non_ascii(raw, begin, end))
        if len(unicode):
            lowered.append(pc.utf8_lower(array.take(index[unicode])).cast(pa.large_string()))
            wide.append(first + unicode)
        raws.append(raw)
        begins.append(begin)
        ends.append(end)
        first += len(index)
    source = np.repeat(np.arange(len(arrays), dtype=np.uint8), [len(index) for index in indices])
    begin, end = np.concatenate(begins), np.concatenate(ends)
    if lowered:
        wide = np.concatenate(wide)
        raw, begin[wide], end[wide] = _bounds(pa.concat_arrays(lowered), np.arange(len(wide)))
        source[wide] = SOURCES - 1
    else:
        raw = _readonly(None)
    return tuple(raws + [_readonly(None)] * (SOURCES - 1 - len(raws)) + [raw]), source, begin, end


@numba.njit(cache=True)
def _mix(z: np.uint64) -> np.uint64:
    """splitmix64's finaliser (a well-spread 64-bit hash of ``z``)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


# each place in a band (up to num_perm's most, 1024): an odd 64-bit multiplier of its value in the band's key
_MULTIPLIERS = np.array([int(_mix(np.uint64(place))) | 1 for place in range(1024)], dtype=np.uint64)


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
def _normalised(raws: tuple, source: np.ndarray, begins: np.ndarray, ends: np.ndarray, first: int, stop: int,
                text: np.ndarray) -> int:
    """One key text, the pieces ``first`` to ``stop`` (piece ``i``: ``raws[source[i]][begins[i]: ends[i]]``)
    with a separator between pieces, normalised into ``text`` (room for a byte more than it writes): its
    length. A word byte (ASCII letter, lower-cased, or digit, any non-ASCII byte) is kept; a run of other
    bytes is one space, none at either end. (Without branches: each byte is written, and kept by moving
    on or not.)"""
    length, spaced = 0, 1  # spaced: the last byte kept is a space, or none is
    for piece in range(first, stop):
        raw = raws[source[piece]]
        text[length] = 32
        length += 1 - spaced
        spaced = 1
        for at in range(begins[piece], ends[piece]):
            byte = _NORMAL[raw[at]]
            word = np.int64(byte != 32)
            text[length] = byte
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
def _widest(begins: np.ndarray, ends: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> int:
    """The most bytes any row's pieces hold, with a separator after each piece, and one more."""
    widest = 1
    for row in range(len(starts)):
        width = 1
        for piece in range(starts[row], stops[row]):
            width += ends[piece] - begins[piece] + 1
        widest = max(widest, width)
    return widest


def pieces(values) -> tuple[tuple, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Records (a table or batch: their key texts, :func:`bagel.near_dedup.key_pieces`) or texts (strings or
    an Arrow string array; nulls as empty), in pieces read in place (:func:`_piece_bytes`: the byte buffers,
    each piece's buffer, start and end), and each row's first piece and the piece after its last."""
    if isinstance(values, (pa.Table, pa.RecordBatch)):
        arrays, indices, starts, stops = key_pieces(values)
    else:
        arrays = [as_array(values)]
        indices = [np.arange(len(arrays[0]), dtype=np.int64)]
        starts, stops = indices[0], indices[0] + 1
    return *_piece_bytes(arrays, indices), starts, stops


@numba.njit(cache=True)
def _shingle_kernel(raws: tuple, source: np.ndarray, begins: np.ndarray, ends: np.ndarray, starts: np.ndarray,
                    stops: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """The shingle hashes of the rows of :func:`pieces`, flat, and each row's offsets."""
    text, no_sig = np.empty(_widest(begins, ends, starts, stops), np.uint8), np.empty(0, np.uint32)
    offsets = np.zeros(len(starts) + 1, np.int64)
    hashed = np.empty(np.sum(ends - begins) + 2 * len(begins) + 1, np.uint64)  # one per byte or separator, or row
    for row in range(len(starts)):
        length = _normalised(raws, source, begins, ends, starts[row], stops[row], text)
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
    """One 64-bit key per band of the signature ``sig`` into ``keys``: the band's values, each times the odd
    multiplier of its place in the band (:data:`_MULTIPLIERS`), summed with the band's number times the
    golden ratio, then mixed (independent multiplies, not a chain of mixes)."""
    for band in range(len(keys)):
        total = np.uint64(band + 1) * _GOLDEN
        for col in range(rows_per_band):
            total += np.uint64(sig[band * rows_per_band + col]) * _MULTIPLIERS[col]
        keys[band] = _mix(total)


@numba.njit(cache=True)
def band_keys(sigs: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """The band keys (``rows x bands``) of signatures (``rows x num_perm``, uint32), as the near pass makes them."""
    keys = np.empty((len(sigs), bands), np.uint64)
    for row in range(len(sigs)):
        _band_keys_into(sigs[row], rows_per_band, keys[row])
    return keys


@numba.njit(cache=True, nogil=True)
def _band_kernel(raws: tuple, source: np.ndarray, begins: np.ndarray, ends: np.ndarray, starts: np.ndarray,
                 stops: np.ndarray, ngram: int, donors: np.ndarray, bands: int,
                 rows_per_band: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Band keys, sketches and which rows have a shingle, for the rows of :func:`pieces`."""
    rows, num_perm = len(starts), donors.shape[1]
    keys = np.empty((rows, bands), np.uint64)
    sketches = np.full((rows, num_perm), np.uint8(EMPTY & 0xFF))
    has = np.zeros(rows, np.bool_)
    text, no_out = np.empty(_widest(begins, ends, starts, stops), np.uint8), np.empty(0, np.uint64)
    sig, filled, empty = np.empty(num_perm, np.uint32), np.empty(num_perm, np.uint8), np.empty(num_perm, np.int64)
    for row in range(rows):
        sig[:] = EMPTY
        length = _normalised(raws, source, begins, ends, starts[row], stops[row], text)
        if _shingles(text, length, ngram, no_out, sig):
            has[row] = True
            _densify(sig, donors, filled, empty)
        _band_keys_into(sig, rows_per_band, keys[row])
        for bin_ in range(num_perm):
            sketches[row, bin_] = np.uint8(sig[bin_] & np.uint32(0xFF))
    return keys, sketches, has


@numba.njit(cache=True, nogil=True)
def by_partition(keys: np.ndarray, has: np.ndarray, refs: np.ndarray,
                 partitions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The band keys (``rows x bands``) of the rows that ``has``, each with its row's ref (``refs``, a row
    each), grouped by partition (``key % partitions``), in row order within each: the keys, their refs and
    each partition's bounds in them (``partitions + 1``)."""
    bounds, count = np.zeros(partitions + 1, np.int64), np.uint64(partitions)
    for row in range(len(keys)):
        if has[row]:
            for key in keys[row]:
                bounds[np.int64(key % count) + 1] += 1
    bounds = np.cumsum(bounds)
    at = bounds[:-1].copy()
    out_keys, out_refs = np.empty(bounds[-1], np.uint64), np.empty(bounds[-1], np.int64)
    for row in range(len(keys)):
        if has[row]:
            for key in keys[row]:
                part = np.int64(key % count)  # (unsigned: numba takes a uint64 % int64 through float64)
                out_keys[at[part]], out_refs[at[part]] = key, refs[row]
                at[part] += 1
    return out_keys, out_refs, bounds


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
