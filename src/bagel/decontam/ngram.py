"""N-gram containment detector: hashed word n-grams of benchmark items, looked up with numpy.

Every benchmark text variant of ``L`` normalised words is indexed as:

- ``L >= n``: its distinct word ``n``-grams; the score of a training text is the *containment*,
  the share of the item's n-grams found in the training text (so an item embedded in a longer
  prompt still scores 1.0, and a few changed words lower it only a little);
- ``L < n``: one gram, the whole item (``min(n, L)`` words); the score is 1.0 when the training
  text contains it. Items shorter than ``min_words`` words are generic ("Who are you?"), and so are
  short variants of an item that also has a long one (an MMLU question stem such as "The real
  interest rate is", whose choices make the item): they only count when the training text has at
  most ``short_slack`` words more than the item.

Words are mapped to ids through the benchmark vocabulary; a word no benchmark uses gets id 0,
which (like the separator between texts) breaks every window that holds it, so a clean training
text rarely produces a candidate. Grams are 64-bit polynomial hashes of the ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bagel.decontam.normalize import SEP, joined_words

_MULT = np.uint64(0x9E3779B97F4A7C15)
_FILTER_BITS = 23  # a 2**23-slot presence filter in front of the exact (sorted) lookup


@dataclass
class _Keys:
    """Sorted distinct gram hashes of one length, with CSR postings into variant ids."""

    keys: np.ndarray
    ptr: np.ndarray
    variants: np.ndarray


def _flatten(ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word ids, each text ended by -1 -> (ids with 0 separators, start of each text, its length)."""
    flat = np.array(ids, dtype=np.int64)
    ends = np.flatnonzero(flat == -1)
    starts = np.r_[0, ends[:-1] + 1].astype(np.int64)
    flat[ends] = 0
    return flat.astype(np.uint64), starts, ends - starts


def _windows(flat: np.ndarray, max_k: int):
    """Yield ``(k, hashes, valid)`` for k = 1..max_k: hash of ``flat[i:i+k]`` and whether it holds no 0."""
    zeros = np.r_[0, np.cumsum(flat == 0)]
    h = flat
    for k in range(1, max_k + 1):
        m = len(flat) - k + 1
        if m <= 0:
            return
        if k > 1:
            h = h[:m] * _MULT + flat[k - 1 : k - 1 + m]
        yield k, h, (zeros[k : k + m] - zeros[:m]) == 0


def _postings(hashes: np.ndarray, variants: np.ndarray) -> _Keys:
    if not len(hashes):
        return _Keys(keys=hashes, ptr=np.zeros(1, dtype=np.int64), variants=variants.astype(np.int64))
    order = np.lexsort((variants, hashes))
    hashes, variants = hashes[order], variants[order]
    distinct = np.r_[True, (hashes[1:] != hashes[:-1]) | (variants[1:] != variants[:-1])]
    hashes, variants = hashes[distinct], variants[distinct]
    first = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    return _Keys(keys=hashes[first], ptr=np.r_[first, len(hashes)].astype(np.int64), variants=variants)


def _unique_pairs(a: np.ndarray, b: np.ndarray, size_b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs of non-negative ints and how often each occurs."""
    keys, counts = np.unique(a * size_b + b, return_counts=True)
    return keys // size_b, keys % size_b, counts


class NgramIndex:
    """Containment of benchmark text variants in training texts (see the module docstring)."""

    def __init__(
        self, texts: list[str], n: int = 8, min_words: int = 5, short_slack: int = 8, items: list[int] | None = None
    ):
        """Index ``texts``; ``items[i]`` (default ``i``) groups the variants of one benchmark item."""
        self.n, self.short_slack = n, short_slack
        self.vocab: dict[str, int] = {SEP: -1}
        add = self.vocab.setdefault
        joined, order = joined_words(texts)
        flat, starts, lens = _flatten([add(w, len(self.vocab)) for w in joined])
        order = np.asarray(order, dtype=np.int64)  # variant id of each text in flat order
        self._words = np.split(flat, starts[1:])  # word ids of each text (flat order), for word_overlap
        self._position = np.argsort(order)
        size = len(self.vocab) + 1
        text_of_word = np.repeat(np.arange(len(lens)), lens + 1)  # each text is followed by one separator
        doc_freq = np.bincount(np.unique(text_of_word * size + flat.astype(np.int64)) % size, minlength=size)
        self.idf = np.maximum(np.log(len(texts) / (1.0 + doc_freq)), 0.0)
        self.n_words = np.empty_like(lens)
        self.n_words[order] = lens
        self.n_grams = np.where(self.n_words >= n, 0, 1).astype(np.int64)
        self.tables: dict[int, _Keys] = {}
        for k, h, valid in _windows(flat, n):
            if k == n:
                pos = np.flatnonzero(valid)
                text = np.searchsorted(starts, pos, side="right") - 1
                keep = lens[text] >= n
                table = _postings(h[pos[keep]], order[text[keep]])
                self.n_grams += np.bincount(table.variants, minlength=len(lens))
                self.tables[k] = table
            short = np.flatnonzero(lens == k)
            if k < n and len(short):
                self.tables[k] = _postings(h[starts[short]], order[short])
        items = np.arange(len(texts)) if items is None else np.asarray(items)
        has_long = np.zeros(items.max() + 1 if len(items) else 0, dtype=bool)
        has_long[items[self.n_words >= n]] = True
        self.anywhere = (self.n_words >= min_words) & ~has_long[items]  # short variants that match anywhere
        self.filter = np.zeros(1 << _FILTER_BITS, dtype=bool)
        for table in self.tables.values():
            self.filter[table.keys >> np.uint64(64 - _FILTER_BITS)] = True

    def word_overlap(self, text: str, variant: int) -> float:
        """IDF-weighted share of the distinct words of benchmark ``variant`` that ``text`` contains."""
        mine = set(self.encode([text])[0]) - {-1, 0}
        theirs = np.unique(self._words[self._position[variant]])
        theirs = theirs[theirs > 0].astype(np.int64)
        weights = self.idf[theirs]
        found = np.fromiter((w in mine for w in theirs.tolist()), dtype=bool, count=len(theirs))
        return float(weights[found].sum() / max(weights.sum(), 1e-9))

    def encode(self, texts: list[str]) -> tuple[list[int], list[int]]:
        """Word ids of ``texts`` (0 for words no benchmark uses), each text ended by -1, and the text order."""
        get = self.vocab.get
        joined, order = joined_words(texts)
        return [get(w, 0) for w in joined], order

    def score(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each text: the best containment score (0.0 when none) and its variant (-1 when none)."""
        best = np.zeros(len(texts), dtype=np.float32)
        best_var = np.full(len(texts), -1, dtype=np.int64)
        if not texts:
            return best, best_var
        ids, text_order = self.encode(texts)
        flat, starts, lens = _flatten(ids)
        found_t, found_v, found_s = [], [], []
        for k, h, valid in _windows(flat, self.n):
            table = self.tables.get(k)
            if table is None:
                continue
            pos = np.flatnonzero(valid & self.filter[h >> np.uint64(64 - _FILTER_BITS)])
            slot = np.minimum(np.searchsorted(table.keys, h[pos]), len(table.keys) - 1)
            hit = table.keys[slot] == h[pos]
            pos, slot = pos[hit], slot[hit]
            if not len(pos):
                continue
            text = np.searchsorted(starts, pos, side="right") - 1
            t, u, _ = _unique_pairs(text, slot, len(table.keys))  # distinct grams per text
            count = table.ptr[u + 1] - table.ptr[u]
            offsets = np.repeat(table.ptr[u] - np.cumsum(count) + count, count) + np.arange(count.sum())
            t, v = np.repeat(t, count), table.variants[offsets]
            if k == self.n:
                t, v, hits = _unique_pairs(t, v, len(self.n_words))
                s = hits / self.n_grams[v]
            else:
                ok = self.anywhere[v] | (lens[t] <= self.n_words[v] + self.short_slack)
                t, v, s = t[ok], v[ok], np.ones(int(ok.sum()))
            found_t.append(t), found_v.append(v), found_s.append(s)
        if found_t:
            t, v, s = (np.concatenate(x) for x in (found_t, found_v, found_s))
            order = np.lexsort((v, -s, t))  # per text: highest score, then lowest variant
            t, v, s = t[order], v[order], s[order]
            first = np.flatnonzero(np.r_[True, t[1:] != t[:-1]]) if len(t) else np.zeros(0, dtype=np.int64)
            original = np.asarray(text_order)[t[first]]
            best[original], best_var[original] = s[first], v[first]
        return best, best_var
