"""N-gram containment detector: hashed word n-grams of benchmark items, looked up with numpy.

Every benchmark text variant of ``L`` normalised words is indexed as:

- ``L >= n``: its distinct word ``n``-grams; the score of a training text is the *containment*,
  the weighted share of the item's n-grams found in the training text (so an item embedded in a
  longer prompt still scores 1.0, and a few changed words lower it only a little). A gram's weight
  is ``1 / sqrt(df)``, ``df`` the number of benchmark items that hold it: a stem that many items
  share ("which of the following is an example of a") weighs little next to the item's own words;
- ``L < n``: one gram, the whole item (``min(n, L)`` words); the score is 1.0 when the training
  text contains it. Items shorter than ``min_words`` words are generic ("Who are you?"), and so are
  short variants of an item that also has a long one (an MMLU question stem such as "The real
  interest rate is", whose choices make the item): they only count when the training text has at
  most ``short_slack`` words more than the item.
- a *segmented* text (a multiple-choice item: question and choices split by the word
  :data:`~bagel.decontam.normalize.BREAK`): no gram spans a break, so choices may come in any order
  and with any labels; each span of ``L >= n`` words gives its n-grams, each shorter span (a choice
  such as "Planetary density will decrease") is one gram of all its words, and all of them count
  in the containment as above, provided at least :data:`PART_FLOOR` of the question's grams and of
  the choices' grams are found (a stem many items share, or the same choices, is not a match).

Words are mapped to ids through the benchmark vocabulary; a word no benchmark uses gets id 0,
which (like the separator between texts) breaks every window that holds it, so a clean training
text rarely produces a candidate. Grams are 64-bit polynomial hashes of the ids.

The index is a handful of flat numpy arrays and the vocabulary; :func:`cached_index` keeps a built
one on disk (keyed by the texts and the options) and memory-maps it in the next process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from bagel.decontam.normalize import BREAK, SEP, joined_words
from bagel.log import logger

_MULT = np.uint64(0x9E3779B97F4A7C15)
_FILTER_BITS = 23  # a 2**23-slot presence filter in front of the exact (sorted) lookup
_CHUNK_CHARS = 1 << 20  # characters split into words at a time: bounds the Python word lists alive at once
PART_FLOOR = 0.25  # share of a multiple-choice item's question, and of its choices, a match must hold
_FORMAT = 3  # version of the on-disk layout and of the hashing; part of the cache key
_ARRAYS = ("idf", "n_words", "mass", "segmented", "anywhere", "filter", "_word_ids", "_starts")


@dataclass
class _Keys:
    """Sorted distinct gram hashes of one length, with CSR postings into variant ids."""

    keys: np.ndarray
    ptr: np.ndarray
    variants: np.ndarray
    weights: np.ndarray | None = None  # per key: 1 / sqrt(number of benchmark items holding the gram)


def _flatten(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word ids, each text ended by -1 -> (ids with 0 separators, start of each text, its length)."""
    ends = np.flatnonzero(ids == -1)
    starts = np.r_[0, ends[:-1] + 1].astype(np.int64)
    flat = ids.astype(np.uint64)
    flat[ends] = 0
    return flat, starts, ends - starts


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


def _hash_at(flat: np.ndarray, pos: np.ndarray, k: int) -> np.ndarray:
    """Hashes of the ``k``-word windows of ``flat`` that start at ``pos`` (the values :func:`_windows` gives)."""
    h = flat[pos]
    for j in range(1, k):
        h = h * _MULT + flat[pos + j]
    return h


def _postings(hashes: np.ndarray, variants: np.ndarray) -> _Keys:
    """Distinct (gram hash, variant) pairs as sorted keys and CSR postings (int32 variant ids)."""
    variants = variants.astype(np.int32)
    if not len(hashes):
        return _Keys(keys=hashes, ptr=np.zeros(1, dtype=np.int32), variants=variants)
    order = np.lexsort((variants, hashes))
    hashes, variants = hashes[order], variants[order]
    del order
    distinct = np.r_[True, (hashes[1:] != hashes[:-1]) | (variants[1:] != variants[:-1])]
    hashes, variants = hashes[distinct], variants[distinct]
    first = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    return _Keys(keys=hashes[first], ptr=np.r_[first, len(hashes)].astype(np.int32), variants=variants)


def _chunks(texts: list[str]):
    """Yield ``(lo, hi)`` slices of ``texts`` of about :data:`_CHUNK_CHARS` characters (at least one text)."""
    lo, chars = 0, 0
    for i, text in enumerate(texts):
        chars += len(text)
        if chars >= _CHUNK_CHARS:
            yield lo, i + 1
            lo, chars = i + 1, 0
    if lo < len(texts):
        yield lo, len(texts)


def _vocab_text(vocab: dict[str, int]) -> str:
    """The words of ``vocab`` (ids 1, 2, ...: in insertion order, after SEP) joined by newlines."""
    return "\n".join(list(vocab)[1:])


def _vocab_from(text: str) -> dict[str, int]:
    """The vocabulary written by :func:`_vocab_text`: SEP -> -1, then each word -> its line number (from 1)."""
    return {SEP: -1, **dict(zip(text.split("\n") if text else [], range(1, 1 << 62)))}


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` without its slow hash path)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _unique_pairs(a: np.ndarray, b: np.ndarray, size_b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs of non-negative ints and how often each occurs."""
    keys, counts = np.unique(a * size_b + b, return_counts=True)
    return keys // size_b, keys % size_b, counts


class NgramIndex:
    """Containment of benchmark text variants in training texts (see the module docstring)."""

    def __init__(
        self, texts: list[str], n: int = 8, min_words: int = 5, short_slack: int = 8, items: list[int] | None = None
    ):
        """Index ``texts``; ``items[i]`` (default ``i``) groups the variants of one benchmark item.

        A text holding the word :data:`~bagel.decontam.normalize.BREAK` is segmented (module docstring).

        Texts are read a chunk at a time, so only the index and one chunk's temporaries are alive at once.
        """
        self.n, self.short_slack = n, short_slack
        self.vocab: dict[str, int] = {SEP: -1}
        self.n_words = np.zeros(len(texts), dtype=np.int64)
        self._starts = np.zeros(len(texts), dtype=np.int64)  # where each variant's words start in _word_ids
        self.segmented = np.zeros(len(texts), dtype=bool)
        word_ids, text_words = [], []  # per chunk: word ids (-1 after each text); distinct words of each text
        grams: dict[int, tuple[list, list]] = {k: ([], []) for k in range(1, n + 1)}  # hashes, variants
        offset = 0
        for lo, hi in _chunks(texts):
            ids, order = self.encode(texts[lo:hi], grow=True)
            flat, starts, lens = _flatten(ids)
            variant = (order + lo).astype(np.int32)
            self.n_words[variant], self._starts[variant] = lens, starts + offset
            word_ids.append(ids.astype(np.int32))
            offset += len(ids)
            size = len(self.vocab) + 1
            text_of_word = np.repeat(np.arange(len(lens)), lens + 1)  # each text is followed by one separator
            text_words.append((_distinct(text_of_word * size + flat.astype(np.int64)) % size).astype(np.int32))
            # spans: runs of words between separators (text ends) and breaks (segmented texts)
            bounds = np.flatnonzero(flat == 0)
            span_start = np.r_[0, bounds[:-1] + 1]
            span_len = bounds - span_start
            span_text = np.searchsorted(starts, span_start, side="right") - 1
            self.segmented[variant[np.unique(span_text[span_len < lens[span_text]])]] = True
            part = variant[span_text] + len(texts) * (span_start != starts[span_text])  # question / choices
            span_start, span_len, part = span_start[span_len > 0], span_len[span_len > 0], part[span_len > 0]
            count = np.where(span_len >= n, span_len - n + 1, 0)  # windows of n words inside each long span
            pos = np.repeat(span_start - np.cumsum(count) + count, count) + np.arange(count.sum())
            grams[n][0].append(_hash_at(flat, pos, n)), grams[n][1].append(np.repeat(part, count))
            for k in range(1, n):  # a short span is one gram: all its words
                short = np.flatnonzero(span_len == k)
                grams[k][0].append(_hash_at(flat, span_start[short], k)), grams[k][1].append(part[short])
        self._word_ids = np.concatenate(word_ids) if word_ids else np.zeros(0, dtype=np.int32)
        del word_ids
        # Fresh, contiguous copies of the words: the first-seen ones lie among the freed words of all the
        # texts and would keep that memory from going back to the system.
        self.vocab = _vocab_from(_vocab_text(self.vocab))
        doc_freq = np.bincount(np.concatenate([np.zeros(0, np.int32), *text_words]), minlength=len(self.vocab) + 1)
        self.idf = np.maximum(np.log(len(texts) / (1.0 + doc_freq)), 0.0)
        items = np.arange(len(texts)) if items is None else np.asarray(items)
        # Postings hold "parts": variant i (its question, or the whole text) and len(texts) + i (its choices).
        self.mass = np.zeros(2 * len(texts), dtype=np.float64)  # total weight of each part's containment grams
        self.tables: dict[int, _Keys] = {}
        for k in range(1, n + 1):
            hashes, variants = grams.pop(k)
            if sum(map(len, hashes)):
                table = self.tables[k] = _postings(np.concatenate(hashes), np.concatenate(variants))
                key_of = np.repeat(np.arange(len(table.keys)), np.diff(table.ptr))
                base = table.variants % len(texts)
                key_item, _, _ = _unique_pairs(key_of, items[base], int(items.max()) + 1)
                table.weights = (1.0 / np.sqrt(np.bincount(key_item, minlength=len(table.keys)))).astype(np.float32)
                counted = (k == n) | self.segmented[base]
                self.mass += np.bincount(table.variants[counted], table.weights[key_of[counted]], 2 * len(texts))
            del hashes, variants
        self.mass[self.mass == 0] = 1.0  # a short text: its one gram scores 1.0
        has_long = np.zeros(items.max() + 1 if len(items) else 0, dtype=bool)
        has_long[items[self.n_words >= n]] = True
        self.anywhere = (self.n_words >= min_words) & ~has_long[items]  # short variants that match anywhere
        self.filter = np.zeros(1 << _FILTER_BITS, dtype=bool)
        for table in self.tables.values():
            self.filter[table.keys >> np.uint64(64 - _FILTER_BITS)] = True

    def save(self, path: Path) -> None:
        """Write the index to the folder ``path``: one ``.npy`` per array, the vocabulary, the options."""
        path.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(path / f"{name.lstrip('_')}.npy", getattr(self, name))
        for k, table in self.tables.items():
            for field in ("keys", "ptr", "variants", "weights"):
                np.save(path / f"{field}{k}.npy", getattr(table, field))
        (path / "vocab.txt").write_bytes(_vocab_text(self.vocab).encode("utf-8", "surrogatepass"))
        meta = {"n": self.n, "short_slack": self.short_slack, "tables": sorted(self.tables)}
        (path / "meta.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: Path) -> NgramIndex:
        """An index written by :meth:`save`, its arrays memory-mapped read-only."""
        meta = json.loads((path / "meta.json").read_text())
        index = cls.__new__(cls)
        index.n, index.short_slack = meta["n"], meta["short_slack"]
        index.vocab = _vocab_from((path / "vocab.txt").read_bytes().decode("utf-8", "surrogatepass"))

        def array(name: str) -> np.ndarray:
            return np.asarray(np.load(path / f"{name}.npy", mmap_mode="r"))

        for name in _ARRAYS:
            setattr(index, name, array(name.lstrip("_")))
        index.tables = {k: _Keys(*(array(f"{field}{k}") for field in ("keys", "ptr", "variants", "weights")))
                        for k in meta["tables"]}
        return index

    def _word_weights(self):
        """Per variant, its distinct words' IDF weights over its total (CSR, variants x words; built once)."""
        if getattr(self, "_weights_csr", None) is None:
            from scipy import sparse

            size = len(self.vocab) + 1
            count = np.asarray(self.n_words, dtype=np.int64)
            pos = np.repeat(np.asarray(self._starts) - np.cumsum(count) + count, count) + np.arange(count.sum())
            owner = np.repeat(np.arange(len(count)), count)
            pairs = _distinct(owner * size + np.asarray(self._word_ids)[pos].astype(np.int64))
            variant, word = pairs // size, pairs % size
            keep = word > 0  # not the breaks of a segmented text
            variant, word = variant[keep], word[keep]
            weight = self.idf[word]
            mass = np.bincount(variant, weight, len(count))
            self._weights_csr = sparse.csr_matrix((weight / np.maximum(mass[variant], 1e-9), (variant, word)),
                                                  shape=(len(count), size))
        return self._weights_csr

    def word_shares(self, texts: list[str], pairs_text: np.ndarray, pairs_variant: np.ndarray) -> np.ndarray:
        """:meth:`word_overlap` of many (text, variant) pairs at once (``texts[pairs_text[i]]``, ``pairs_variant[i]``)."""
        from scipy import sparse

        weights = self._word_weights()
        if not len(pairs_text):
            return np.zeros(0)
        ids, order = self.encode(texts)
        flat, starts, lens = _flatten(ids)
        text = order[np.repeat(np.arange(len(lens)), lens + 1)]
        keep = flat > 0
        found = sparse.csr_matrix((np.ones(int(keep.sum())), (text[keep], flat[keep].astype(np.int64))),
                                  shape=(len(texts), weights.shape[1]))
        found.data[:] = 1.0  # a word counts once
        return np.asarray(found[pairs_text].multiply(weights[pairs_variant]).sum(axis=1)).ravel()

    def word_share(self, text: str, other: str) -> float:
        """IDF-weighted share of the distinct (benchmark-vocabulary) words of ``other`` that ``text`` contains."""
        mine, theirs = (set(self.encode([t])[0].tolist()) - {-1, 0} for t in (text, other))
        weights = {w: float(self.idf[w]) for w in theirs}
        total = sum(weights.values())
        return sum(weights[w] for w in theirs & mine) / total if total > 0 else 1.0

    def word_overlap(self, text: str, variant: int) -> float:
        """IDF-weighted share of the distinct words of benchmark ``variant`` that ``text`` contains."""
        mine = set(self.encode([text])[0].tolist()) - {-1, 0}
        start = self._starts[variant]
        theirs = _distinct(self._word_ids[start : start + self.n_words[variant]]).astype(np.int64)
        theirs = theirs[theirs > 0]  # not the breaks of a segmented text
        weights = self.idf[theirs]
        found = np.fromiter((w in mine for w in theirs.tolist()), dtype=bool, count=len(theirs))
        return float(weights[found].sum() / max(weights.sum(), 1e-9))

    def encode(self, texts: list[str], grow: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Word ids of ``texts`` (0 for words no benchmark uses), each text ended by -1, and the text order.

        With ``grow``, words not yet in the vocabulary get new ids instead of 0 (building the index).
        """
        joined, order = joined_words(texts)
        vocab = self.vocab
        if grow:
            for word in dict.fromkeys(joined):  # ids in order of first use; a break stays 0
                if word != BREAK:
                    vocab.setdefault(word, len(vocab))
        ids = np.fromiter(map(vocab.get, joined, repeat(0)), dtype=np.int64, count=len(joined))
        return ids, np.asarray(order, dtype=np.int64)

    def _shares(self, t: np.ndarray, part: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Found containment grams (text, part, weight) -> (text, variant, score): the weighted share of the
        variant's grams found; a segmented variant scores 0 unless at least :data:`PART_FLOOR` of its
        question's grams and of its choices' grams are found (a shared stem, or shared choices, alone)."""
        size = len(self.n_words)
        key, inverse = np.unique(t * 2 * size + part, return_inverse=True)
        t, part = key // (2 * size), key % (2 * size)
        found = np.bincount(inverse, w.astype(np.float64))
        share = found / self.mass[part]
        key, inverse = np.unique(t * size + part % size, return_inverse=True)
        t, v = key // size, key % size
        low = np.full(len(key), np.inf)
        np.minimum.at(low, inverse, share)
        both = np.bincount(inverse, minlength=len(key)) == 2
        total = np.where(self.segmented[v], self.mass[v] + self.mass[v + size], self.mass[v])
        score = np.minimum(np.bincount(inverse, found) / total, 1.0)
        return t, v, np.where(self.segmented[v] & ~(both & (low >= PART_FLOOR)), 0.0, score)

    def score(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each text: the best containment score (0.0 when none) and its variant (-1 when none)."""
        best = np.zeros(len(texts), dtype=np.float32)
        best_var = np.full(len(texts), -1, dtype=np.int64)
        for lo, hi in _chunks(texts):  # a chunk at a time: small temporaries
            best[lo:hi], best_var[lo:hi] = self._score_chunk(texts[lo:hi])
        return best, best_var

    def _score_chunk(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        best = np.zeros(len(texts), dtype=np.float32)
        best_var = np.full(len(texts), -1, dtype=np.int64)
        ids, text_order = self.encode(texts)
        flat, starts, lens = _flatten(ids)
        found_t, found_v, found_s = [], [], []
        share_t, share_v, share_w = [], [], []  # containment grams found: (text, variant, weight)
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
            t, v, w = np.repeat(t, count), table.variants[offsets], np.repeat(table.weights[u], count)
            counted = self.segmented[v % len(self.n_words)] if k < self.n else np.ones(len(v), dtype=bool)
            share_t.append(t[counted]), share_v.append(v[counted]), share_w.append(w[counted])
            t, v = t[~counted], v[~counted]  # a short text as a whole: matched or not
            ok = self.anywhere[v] | (lens[t] <= self.n_words[v] + self.short_slack)
            found_t.append(t[ok]), found_v.append(v[ok]), found_s.append(np.ones(int(ok.sum())))
        if share_t:
            t, v, s = self._shares(*(np.concatenate(x) for x in (share_t, share_v, share_w)))
            found_t.append(t), found_v.append(v), found_s.append(s)
        if found_t:
            t, v, s = (np.concatenate(x) for x in (found_t, found_v, found_s))
            order = np.lexsort((v, -s, t))  # per text: highest score, then lowest variant
            t, v, s = t[order], v[order], s[order]
            first = np.flatnonzero(np.r_[True, t[1:] != t[:-1]]) if len(t) else np.zeros(0, dtype=np.int64)
            original = text_order[t[first]]
            best[original], best_var[original] = s[first], v[first]
        return best, best_var


def cache_key(texts: list[str], items: list[int], n: int, min_words: int, short_slack: int) -> str:
    """Content hash of (layout version, options, texts, item groups): the folder name of a cached index."""
    digest = hashlib.sha256(f"{_FORMAT}\x1f{n}\x1f{min_words}\x1f{short_slack}".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x1e")
    digest.update(np.asarray(items, dtype=np.int64).tobytes())
    return digest.hexdigest()[:32]


def cached_index(
    texts: list[str], items: list[int], n: int, min_words: int, short_slack: int, cache_dir: Path
) -> NgramIndex:
    """The :class:`NgramIndex` of ``texts``, memory-mapped from ``cache_dir`` (built and saved there first,
    atomically, when missing; a cache folder that cannot be written only costs the next process a build)."""
    path = Path(cache_dir) / f"ngram-{cache_key(texts, items, n, min_words, short_slack)}"
    if (path / "meta.json").is_file():
        logger.info("benchmark n-gram index: cached %s", path.name)
        return NgramIndex.load(path)
    index = NgramIndex(texts, n=n, min_words=min_words, short_slack=short_slack, items=items)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=".ngram-"))
        index.save(tmp)
        try:
            os.replace(tmp, path)
        except OSError:  # another process saved the same index first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as err:
        logger.warning("benchmark n-gram index not cached in %s (%s)", cache_dir, err)
        return index
    return NgramIndex.load(path)  # memory-mapped: the pages are shared with every other worker
