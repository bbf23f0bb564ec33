"""Near-duplicate dedup: MinHash LSH over byte n-grams of each record's normalised key text, in numpy.

- key text: what exact dedup's id is made from (the human turns of a chat joined by newlines, a
  pair's prompt, a text); normalised by lower-casing and turning every run of ASCII characters
  other than letters and digits into one space, so case, punctuation and spacing edits do not
  count (vectorised in Arrow and numpy, on the UTF-8 bytes);
- shingles: the UTF-8 byte ``ngram`` s of that text (a shorter text is one shingle), each read as
  little-endian words straight from the byte buffer and hashed with splitmix64's finaliser;
- signatures: ``num_perm`` values per row by one-permutation MinHash with optimal densification
  (each shingle hashed once, not ``num_perm`` times), over slices of text small enough to stay in
  the CPU's cache. ``bench/near_dedup.py`` measures it against ``rensa`` (Rust, classic MinHash:
  its digest matrix leaves Rust only as Python lists, slower than all of this) and ``datasketch``;
- LSH: ``bands`` x ``rows`` chosen for ``threshold`` as datasketch does (least weighted false
  positive + false negative area, weighted towards recall); each band is hashed to one 64-bit key;
- matching: band keys are sorted, not indexed: only keys that several rows share can make a near
  copy (:func:`shared_members`, per hash partition of the keys in :mod:`bagel.pipeline.near`), and
  :func:`resolve_in_order` applies the rule over those rows alone;
- confirmation: LSH also pairs unlike rows by chance (among millions of rows, pairs at Jaccard 0.2-0.3
  share a band now and then: on bench/synth.py's rows, from a 75-word vocabulary, ~1,700 per million);
  a candidate counts only when the rows' sketches (the low 8 bits of each signature value, 128 bytes a
  row) agree about as often as a pair at the threshold would (:func:`min_agreement`).

The rule (datasketch's ``MinHashLSH.query`` then ``insert`` of each kept row, in load order, with the
check above): a row is a near copy when it shares a band key with an earlier kept row whose sketch
confirms it; of several such rows, the one with the smallest reference (the earliest) is named.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_WORD = np.zeros(256, dtype=bool)  # bytes that are part of a word: ASCII letters and digits, any non-ASCII byte
_WORD[[*range(48, 58), *range(65, 91), *range(97, 123), *range(128, 256)]] = True
SEED = 1
SLICE_BYTES = 256 << 10  # text per signature slice: its arrays (~40 bytes per text byte) stay in cache
EMPTY = np.uint32(0xFFFFFFFF)  # the value of a bin no shingle fell in
VERIFY_SIGMAS = 2  # a candidate pair is refused when its sketches agree this many standard errors below the threshold
DENSIFY_TRIES = 64  # random donor bins tried per empty bin before the row's first filled bin
_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)
# Recall-leaning LSH (datasketch's default is 0.5/0.5): at threshold 0.8, num_perm 128, ngram 5 this gives
# 11 bands x 11 rows, which catches 93.4% of lightly edited GSM8K questions on even-numbered train rows (where
# it was tuned) and 95.2% on odd ones (held out), and drops none of the 1,000 distinct originals (0.5/0.5,
# 9 x 13, catches 87.4% / 89.0%); tests/test_near_dedup.py.
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
    after_word = np.empty_like(word)
    after_word[:1] = False
    after_word[1:] = word[:-1]
    after_word[bounds[:-1][bounds[:-1] < len(raw)]] = False  # a text never starts with a separator
    kept = np.flatnonzero(word | after_word)  # a separator run becomes its first byte
    data = np.where(word[kept], raw[kept], np.uint8(32))
    bounds = np.searchsorted(kept, bounds)  # each text's bounds among the kept bytes
    ends = bounds[1:]
    trailing = (ends > bounds[:-1]) & (data[np.maximum(ends - 1, 0)] == 32) if len(data) else ends < 0
    data = np.delete(data, ends[trailing] - 1)
    bounds = bounds - np.r_[0, np.cumsum(trailing, dtype=np.int64)]
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
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
        return z


def _window_hashes(buffer: np.ndarray, count: int, ngram: int, stride: int = 1) -> np.ndarray:
    """A 64-bit hash of the ``ngram`` bytes at each of ``count`` positions ``stride`` bytes apart in ``buffer``
    (uint8, with at least 8 bytes after the last window): the bytes read 8 at a time as little-endian
    words (a short last word masked), each folded in with :func:`mix64`."""
    hashed = np.uint64(SEED)
    for at in range(0, ngram, 8):
        words = np.ndarray((count,), dtype="<u8", buffer=buffer, offset=at, strides=(stride,))  # unaligned reads
        word = words & np.uint64((1 << (8 * min(8, ngram - at))) - 1)
        word ^= hashed
        hashed = mix64(word)
    return hashed


def shingle_hashes(texts, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashed byte ``ngram`` s of every normalised text, flat, and each row's offsets (``len+1``).

    A text shorter than ``ngram`` bytes is one shingle (its bytes padded with zeros); an empty text has none.
    """
    data, bounds = normalised_bytes(texts)
    lengths = np.diff(bounds).astype(np.int64)
    counts = np.where(lengths >= ngram, lengths - ngram + 1, (lengths > 0).astype(np.int64))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
    hashed = np.empty(int(counts.sum()), dtype=np.uint64)
    inside = np.ones(len(data), dtype=bool)  # the windows that start here stay inside their text
    starts, ends = bounds[:-1], bounds[1:]
    for back in range(1, ngram):  # not the last ngram-1 bytes of a text (all of a short one)
        at = ends - back
        inside[at[at >= starts]] = False
    short = np.flatnonzero((lengths > 0) & (lengths < ngram))
    is_short = np.zeros(len(hashed), dtype=bool)
    is_short[offsets[short].astype(np.int64)] = True
    hashed[~is_short] = _window_hashes(np.r_[data, np.zeros(8, np.uint8)], len(data), ngram)[inside]
    if len(short):  # each copied to its own zero-padded ngram bytes
        size = lengths[short]
        first = np.repeat(np.cumsum(size) - size, size)
        within = np.arange(int(size.sum())) - first
        padded = np.zeros(len(short) * ngram + 8, dtype=np.uint8)
        padded[np.repeat(np.arange(len(short)) * ngram, size) + within] = data[np.repeat(bounds[short], size) + within]
        hashed[is_short] = _window_hashes(padded, len(short), ngram, stride=ngram)
    return hashed, offsets


@functools.lru_cache
def _donors(num_perm: int) -> np.ndarray:
    """``[try, bin]``: the bin an empty bin borrows from at each try (the same for every row)."""
    tries = np.arange(DENSIFY_TRIES, dtype=np.uint64)[:, None] * np.uint64(num_perm)
    return (mix64(tries + np.arange(num_perm, dtype=np.uint64)) % np.uint64(num_perm)).astype(np.int64)


def signatures(texts, ngram: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """One-permutation MinHash signatures (uint32, ``rows x num_perm``) and which rows have any shingle.

    Each shingle hash falls in one of ``num_perm`` bins (by its high 32 bits) and each bin keeps the least
    low 32 bits that fall in it; an empty bin borrows the value of a filled bin of the same row, picked by
    a hash of (bin, try) until one is filled (optimal densification, Shrivastava 2017), so rows with equal
    shingle sets get equal signatures and the chance that two rows agree on a bin is their Jaccard similarity.
    """
    tokens, offsets = shingle_hashes(texts, ngram)
    counts = np.diff(offsets).astype(np.int64)
    rows, has = len(counts), counts > 0
    cells = np.repeat(np.arange(rows, dtype=np.int64) * num_perm, counts)
    bins = tokens >> np.uint64(32)
    bins *= np.uint64(num_perm)
    bins >>= np.uint64(32)
    cells += bins.view(np.int64)
    sigs = np.full(rows * num_perm, EMPTY, dtype=np.uint32)
    np.minimum.at(sigs, cells, tokens.astype(np.uint32))
    filled = sigs != EMPTY  # (a bin whose least value is EMPTY itself borrows one: as likely as a 32-bit collision)
    empty = np.flatnonzero(~filled & np.repeat(has, num_perm))
    donors = _donors(num_perm)
    for attempt in range(DENSIFY_TRIES):
        if not len(empty):
            break
        bins = empty % num_perm
        donor = empty - bins + donors[attempt, bins]
        found = filled[donor]
        sigs[empty[found]] = sigs[donor[found]]
        empty = empty[~found]
    # the rare bins still empty (rows with very few shingles) take the row's first filled bin
    rows_left = empty // num_perm
    sigs[empty] = sigs[rows_left * num_perm + np.argmax(filled.reshape(rows, num_perm)[rows_left], axis=1)]
    return sigs.reshape(rows, num_perm), has


def text_slices(texts: pa.Array, budget: int) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of ``texts`` covering it in order, each of about ``budget`` bytes of text
    (at least one row), so the arrays of a slice stay in the CPU's cache."""
    lengths = pc.fill_null(pc.binary_length(texts), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    ends = np.cumsum(lengths)
    cuts, start = [], 0
    while start < len(texts):
        stop = max(int(np.searchsorted(ends, (ends[start - 1] if start else 0) + budget, side="right")), start + 1)
        cuts.append((start, stop))
        start = stop
    return cuts


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
    banded = sigs[:, : bands * rows].reshape(len(sigs), bands, rows)
    keys = np.repeat(np.arange(1, bands + 1, dtype=np.uint64)[None, :], len(sigs), axis=0)
    for col in range(rows):
        keys ^= banded[:, :, col]
        keys = mix64(keys)
    return keys


class BandKeys:
    """The LSH band keys of texts under one near-dedup setting (``threshold``, ``num_perm``, ``ngram``)."""

    def __init__(self, threshold: float, num_perm: int, ngram: int):
        self.ngram, self.num_perm = ngram, num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)

    def keys(self, texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The band keys of ``texts`` (strings or an Arrow string array), their sketches (the low 8 bits of
        each signature value, for :func:`resolve_in_order` to confirm candidates) and which have any
        shingle (rows without one are never near copies); computed over slices of about
        :data:`SLICE_BYTES` of text."""
        texts = _array(texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.string()))
        keys, has = np.empty((len(texts), self.bands), dtype=np.uint64), np.empty(len(texts), dtype=bool)
        sketches = np.empty((len(texts), self.num_perm), dtype=np.uint8)
        for start, stop in text_slices(texts, SLICE_BYTES):
            sigs, has[start:stop] = signatures(texts.slice(start, stop - start), self.ngram, self.num_perm)
            keys[start:stop] = band_keys(sigs, self.bands, self.rows)
            sketches[start:stop] = sigs
        return keys, sketches, has


def min_agreement(threshold: float, num_perm: int) -> int:
    """How many of ``num_perm`` sketch values two rows must share for a candidate pair to be confirmed: what a
    pair at :data:`VERIFY_SIGMAS` standard errors below ``threshold`` shares (8-bit values also agree by
    chance, 1 in 256), so that a true near copy is rarely refused and a chance collision of unlike rows
    is."""
    similarity = threshold - VERIFY_SIGMAS * math.sqrt(threshold * (1 - threshold) / num_perm)
    chance = 1 / 256
    return math.ceil((chance + (1 - chance) * similarity) * num_perm)


def shared_members(keys: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(key, ref)`` pairs whose key more than one pair has (only those can make a near copy)."""
    order = np.argsort(keys, kind="stable")
    keys, refs = keys[order], refs[order]
    shared = np.zeros(len(keys), dtype=bool)
    if len(keys) > 1:
        same = keys[1:] == keys[:-1]
        shared[1:] |= same
        shared[:-1] |= same
    return keys[shared], refs[shared]


EXCLUDE, CHECK_ADD, ADD, NONE = range(4)  # a row's part in the near pass, by the file (its ref's number) it is in


def resolve_in_order(keys: np.ndarray, refs: np.ndarray, roles: np.ndarray, file_shift: int,
                     sketches: np.ndarray | None = None, agreement: int = 0) -> np.ndarray:
    """The near copies among rows given by their shared band keys (``(key, ref)`` pairs, as
    :func:`shared_members` gives them): ``(ref of the copy, ref of the row it copies)`` pairs.

    Rows are visited in ref order; ``roles[ref >> file_shift]`` says what each does: an :data:`EXCLUDE` row
    (of an exclude set) is held; a row copies the held row of smallest ref among those sharing a band with
    it and confirmed; else a :data:`CHECK_ADD` row copies the kept row (of a :data:`CHECK_ADD` or :data:`ADD`
    file) of smallest ref among those sharing a band with it and confirmed; rows that copy nothing are
    kept, and :data:`NONE` rows are neither checked against kept rows nor kept. A candidate is confirmed
    when its sketch shares at least ``agreement`` values with the row's (``sketches``: one per distinct ref,
    in ref order; None: every candidate is).
    """
    order = np.lexsort((keys, refs))
    keys, refs = keys[order].tolist(), refs[order]
    starts = np.flatnonzero(np.r_[True, refs[1:] != refs[:-1]]) if len(refs) else np.zeros(0, dtype=np.int64)
    stops = np.r_[starts[1:], len(refs)].tolist()
    rows = refs[starts].tolist()  # row i of the visit is ref rows[i] (and sketch i)
    held: dict[int, list[int]] = {}  # band key -> the exclude-set rows holding it, in order
    kept: dict[int, list[int]] = {}  # band key -> the kept rows holding it, in order

    def first_confirmed(row: int, row_keys: list[int], table: dict[int, list[int]]) -> int | None:
        for candidate in sorted({c for k in row_keys for c in table.get(k, ())}):
            if sketches is None or np.count_nonzero(sketches[row] == sketches[candidate]) >= agreement:
                return candidate
        return None

    copies = []
    for row, (start, stop, ref) in enumerate(zip(starts.tolist(), stops, rows)):
        row_keys, role = keys[start:stop], roles[ref >> file_shift]
        if role == EXCLUDE:
            for k in row_keys:
                held.setdefault(k, []).append(row)
            continue
        copied = first_confirmed(row, row_keys, held)
        if copied is None and role == CHECK_ADD:
            copied = first_confirmed(row, row_keys, kept)
        if copied is not None:
            copies.append((ref, rows[copied]))
        elif role != NONE:
            for k in row_keys:
                kept.setdefault(k, []).append(row)
    return np.array(copies, dtype=np.int64).reshape(-1, 2)
