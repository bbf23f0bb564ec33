"""Near-duplicate dedup: MinHash LSH over byte n-grams of each record's normalised key text.

- key text: what exact dedup's id is made from (the human turns of a chat joined by newlines, a
  pair's prompt, a text), :func:`key_pieces`;
- signatures, band keys and sketches: :mod:`bagel.minhash` (compiled; only the near pass loads it);
- LSH: ``bands`` x ``rows`` chosen for ``threshold`` as datasketch does (least weighted false
  positive + false negative area, weighted towards recall), :func:`lsh_params`;
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

from bagel.records import as_array

MEMBER_BITS = 24  # at most 2**24 slots (16 MB) in shared_members' bit table
VERIFY_SIGMAS = 2  # a candidate pair is refused when its sketches agree this many standard errors below the threshold
# Recall-leaning LSH (datasketch's default is 0.5/0.5): at threshold 0.8, num_perm 128, ngram 5 this gives
# 11 bands x 11 rows, which catches 93.4% of lightly edited GSM8K questions on even-numbered train rows (where
# it was tuned) and 94.8% on odd ones (held out), and drops none of the 1,000 distinct originals (0.5/0.5,
# 9 x 13, catches 87.4% / 89.0%); tests/test_near_dedup.py.
FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT = 0.3, 0.7


def key_pieces(table: pa.Table | pa.RecordBatch) -> tuple[list[pa.Array], list[np.ndarray], np.ndarray, np.ndarray]:
    """The text exact dedup's id is made from, per record, in pieces: a chat's human turns (one text, joined
    by newlines), a pair's prompt, a text's text (a record of no kind has none), without copying them: the
    arrays the pieces are in (chats' turn values, prompts, texts), the pieces' positions in each (numbered
    in that order: chats' turns, then prompts, then texts), and each row's first piece and the piece after
    its last."""
    n = table.num_rows
    kind = as_array(table.column("kind"))
    is_pair = pc.fill_null(pc.equal(kind, "dpo"), False).to_numpy(zero_copy_only=False)
    is_text = pc.fill_null(pc.equal(kind, "text"), False).to_numpy(zero_copy_only=False)
    is_chat = kind.is_valid().to_numpy(zero_copy_only=False) & ~is_pair & ~is_text
    chats = as_array(table.column("conversations"))
    turns = pc.list_flatten(chats)
    owners = pc.list_parent_indices(chats).to_numpy()
    human = pc.fill_null(pc.equal(turns.field("from"), "human"), False).to_numpy(zero_copy_only=False)
    taken = np.flatnonzero(human & is_chat[owners])
    pairs, texts = np.flatnonzero(is_pair), np.flatnonzero(is_text)
    counts = np.bincount(owners[taken], minlength=n)
    stops = np.where(is_pair, len(taken) + np.cumsum(is_pair),
                     np.where(is_text, len(taken) + len(pairs) + np.cumsum(is_text), np.cumsum(counts)))
    arrays = [turns.field("value"), as_array(table.column("prompt")), as_array(table.column("text"))]
    return arrays, [taken, pairs, texts], stops - np.where(is_pair | is_text, 1, counts), stops


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


def min_agreement(threshold: float, num_perm: int) -> int:
    """How many of ``num_perm`` sketch values two rows must share for a candidate pair to be confirmed: what a
    pair at :data:`VERIFY_SIGMAS` standard errors below ``threshold`` shares (8-bit values also agree by
    chance, 1 in 256), so that a true near copy is rarely refused and a chance collision of unlike rows
    is."""
    similarity = threshold - VERIFY_SIGMAS * math.sqrt(threshold * (1 - threshold) / num_perm)
    chance = 1 / 256
    return math.ceil((chance + (1 - chance) * similarity) * num_perm)


def shared_members(keys: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(key, ref)`` pairs whose key more than one pair has (only those can make a near copy), in their
    order.

    The keys alone are sorted (a SIMD sort, ~10x faster than ordering the pairs) to find the repeated
    ones; the pairs holding one are found through a bit table of repeated keys' top bits (band keys are
    uniform hashes), checked exactly on the few it lets through."""
    ordered = np.sort(keys)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    repeated = repeated[np.r_[True, repeated[1:] != repeated[:-1]]] if len(repeated) else repeated
    bits = int(min(MEMBER_BITS, max(10, math.ceil(math.log2(len(repeated) + 1)) + 4)))
    table = np.zeros(1 << bits, dtype=bool)
    table[repeated >> np.uint64(64 - bits)] = True
    maybe = np.flatnonzero(table[keys >> np.uint64(64 - bits)])
    found = np.minimum(np.searchsorted(repeated, keys[maybe]), max(len(repeated) - 1, 0))
    chosen = maybe[repeated[found] == keys[maybe]] if len(repeated) else maybe[:0]
    return keys[chosen], refs[chosen]


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
