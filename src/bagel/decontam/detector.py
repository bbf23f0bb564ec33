"""The decontamination step: load benchmarks, build the detectors, filter record batches.

How the detectors combine (``preset``):

- ``ngram``: a row is removed when the n-gram containment of some benchmark item in its whole
  instruction (all human turns; the dpo prompt) is >= ``ngram_threshold``.
- ``default``: the ``ngram`` rule first; the texts of the rows it keeps (first human turn and, when
  different, the whole instruction) are embedded with a static model2vec model (distilled locally
  from the transformer) and searched in a faiss inner-product index. Each of the ``rescore_k``
  nearest benchmark texts with static cosine >= ``static_threshold`` is a candidate unless the
  text holds less than ``lexical_min`` of the item's words (IDF-weighted: a look-alike with other
  numbers and names). A candidate with static cosine >= ``static_accept`` and word share >=
  ``lexical_accept`` is removed as it is (detector ``static``); the others are re-scored with the
  transformer (one batched, length-sorted call per batch; the transformer loads at the first
  candidate, and the benchmark texts' vectors are kept on disk: see ``VectorStore``)
  and removed when the cosine is >= ``embedding_threshold`` (detector ``embedding``).
  Each removal records the detector that fired and its score (containment or cosine), the item as a
  model sees it (with its choices), the longest word span the two share and the benchmark's size.

What is evidence (``ngram`` and ``default``; see :func:`~bagel.decontam.texts.benchmark_variants`): a
multiple-choice item is indexed as question + choices (its question alone only when long), generic
items ("Who are you?") are not indexed, and numbers are hard tokens for math items and MC questions:
an n-gram match must hold ``number_share`` of the item's numbers, an embedding match all of them (either
may instead hold half of them and no number of its own: numbers lost, not replaced) and (MC)
``lexical_min`` of each choice's words. The static search is an inverted file (``static_probe``).
- ``bagel-original``: the original rule alone, on the first human turn (or dpo prompt): nearest
  benchmark text in a flat L2 index (k=1), removed when the squared L2 distance is <=
  ``original_distance`` and ``abs(len(train) - len(bench)) / len(train) <= original_length_ratio``;
  one text per encode call, as the original did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from bagel.benchmarks import available_offline, load_benchmark
from bagel.decontam.embedding import (
    EmbeddingIndex,
    VectorStore,
    cache_key,
    cached_embed,
    embed,
    load_model,
    load_static,
)
from bagel.decontam.ngram import cached_index
from bagel.decontam.options import DecontamOptions
from bagel.decontam.normalize import longest_span, numbers
from bagel.decontam.texts import benchmark_variants, full_texts, row_texts
from bagel.errors import UserError
from bagel.memory import trim_heap
from bagel.records import RECORD_SCHEMA

DEFAULT_CACHE = Path("~/.cache/bagel/decontam")


class Decontaminator:
    """Removes training rows that match benchmark items. Picklable: a copy rebuilds from options + cache."""

    def __init__(self, options: DecontamOptions | None = None, cache_dir: Path | None = None):
        self.options = options or DecontamOptions()
        self.cache_dir = Path(cache_dir or self.options.cache_dir or DEFAULT_CACHE).expanduser()
        self._build()

    def __getstate__(self) -> dict:
        return {"options": self.options, "cache_dir": self.cache_dir}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._build()

    # --- setup ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self._set_up()
        trim_heap(now=True)  # the set-up's garbage (benchmark rows, words) back to the OS

    def _set_up(self) -> None:
        opts = self.options
        if not opts.enabled:
            return
        entries = opts.benchmarks if opts.benchmarks is not None else available_offline()
        benchmarks = [b for b in (load_benchmark(e, use_hub=opts.use_hub) for e in entries) if b is not None]
        if not benchmarks:
            raise UserError("decontamination: no benchmark could be loaded")
        self.names = [b.name for b in benchmarks]  # removal records need only these and the items' full texts
        self.display = [full_texts(b) for b in benchmarks]
        variants = benchmark_variants(benchmarks, opts)
        self.bench_of = np.asarray([v.bench for v in variants], dtype=np.int32)
        self.item_of = np.asarray([v.item for v in variants], dtype=np.int32)
        self.texts = [v.text for v in variants]
        self.ngram = self.model = self.index = None
        if opts.preset != "bagel-original":
            self.ngram = cached_index([v.indexed for v in variants], [v.group for v in variants], opts.ngram_n,
                                      opts.ngram_min_words, opts.ngram_short_slack, self.cache_dir)
            self.numbers = [v.numbers for v in variants]
            self.choices = [v.choices for v in variants]
        if opts.preset == "ngram":
            return
        texts = self.texts
        original = [v.original for v in variants]
        model_id = opts.model or "all-MiniLM-L6-v2 (bundled)"
        if opts.preset == "bagel-original":
            self.model = load_model(opts.model, opts.device, opts.max_seq_length)
            self.original_ids = np.flatnonzero(original)
            vectors = cached_embed(self.model, model_id, [texts[i] for i in self.original_ids], opts.batch_size,
                                   self.cache_dir)
            self.index = EmbeddingIndex(vectors, metric="l2")
        else:
            model_cache = Path(opts.cache_dir or DEFAULT_CACHE).expanduser()  # shared by builds: distilled once
            self.static, static_id = load_static(opts.static_model, opts.model, model_cache)
            vectors = cached_embed(self.static, static_id, texts, opts.batch_size, self.cache_dir)
            self.index = EmbeddingIndex(vectors, probe=opts.static_probe)
            key = cache_key(model_id, opts.max_seq_length, texts)
            self.rescored = VectorStore(self.cache_dir / f"rescore-{key}")  # transformer vectors of benchmark texts

    def transformer(self):
        """The transformer model (default preset: loaded here, at the first candidate that needs re-scoring)."""
        if self.model is None:
            self.model = load_model(self.options.model, self.options.device, self.options.max_seq_length)
        return self.model

    # --- filtering -----------------------------------------------------------------------------

    def _record(self, table: pa.Table, row: int, variant: int, detector: str, score: float, text: str) -> dict:
        bench, item = int(self.bench_of[variant]), int(self.item_of[variant])
        item_text = self.display[bench][item]
        span = longest_span(text, item_text)
        return {
            "id": table.column("id")[row].as_py(),
            "source": table.column("source")[row].as_py(),
            "benchmark": self.names[bench],
            "item_index": item,
            "item_text": item_text,
            "train_text": text,
            "detector": detector,
            "score": round(float(score), 4),
            "span": span,
            "span_words": len(span.split()),
            "benchmark_items": len(self.display[bench]),
        }

    def _evidence(self, text: str, variant: int, share: float) -> bool:
        """Whether a match of ``text`` on benchmark ``variant`` may count: at least ``share`` of the item's
        numbers (math benchmarks; a multiple-choice item's question) are in the text, or at least half
        of them and no number the item does not hold (numbers dropped or garbled, not replaced: a
        look-alike states its own numbers where the item has its)."""
        wanted = self.numbers[variant]
        if not wanted:
            return True
        found = numbers(text, spaced=True)
        held = len(wanted & found)
        return held >= share * len(wanted) or (2 * held >= len(wanted) and found <= numbers(self.texts[variant]))

    def _choices_kept(self, text: str, variant: int) -> bool:
        """Whether ``text`` holds at least ``lexical_min`` (IDF-weighted) of the words of every choice of
        a multiple-choice ``variant`` (an item with other choices is another question)."""
        return all(self.ngram.word_share(text, choice) >= self.options.lexical_min for choice in self.choices[variant])

    def _original(self, first: list[str]) -> list[tuple[int, int, float]]:
        opts, hits = self.options, []
        for i, text in enumerate(first):
            dist, nearest = self.index.nearest(embed(self.model, [text], 1))  # one text per call, as the original
            variant, dist = int(self.original_ids[nearest[0, 0]]), float(dist[0, 0])
            ratio = abs(len(text) - len(self.texts[variant])) / max(len(text), 1)
            if dist <= opts.original_distance and ratio <= opts.original_length_ratio:
                hits.append((i, variant, dist))
        return hits

    def _embedding(self, first: list[str], whole: list[str], todo: np.ndarray) -> list[tuple]:
        opts = self.options
        queries, owner = [], []
        for i in todo.tolist():
            queries.append(first[i]), owner.append(i)
            if whole[i] != first[i]:
                queries.append(whole[i]), owner.append(i)
        sims, nearest = self.index.nearest(embed(self.static, queries, opts.batch_size), opts.rescore_k)
        best: dict[int, tuple[int, int, float, str, str]] = {}

        def keep_best(q: int, v: int, score: float, detector: str) -> None:
            i = owner[q]
            if i not in best or score > best[i][2]:
                best[i] = (i, v, score, queries[q], detector)

        cand_q, cand_j = np.nonzero(sims >= opts.static_threshold)
        cand_v = nearest[cand_q, cand_j]
        shares = self.ngram.word_shares(queries, cand_q, cand_v)
        pairs = []  # (query, variant) candidates left for the transformer
        for q, v, sim, share in zip(cand_q.tolist(), cand_v.tolist(), sims[cand_q, cand_j].tolist(), shares.tolist()):
            if share < opts.lexical_min - 1e-9:
                continue  # a look-alike with other names and numbers
            if not self._evidence(queries[q], v, 1.0) or not self._choices_kept(queries[q], v):
                continue  # a paraphrase keeps every number and every choice
            if share >= opts.lexical_accept and sim >= opts.static_accept:
                keep_best(q, v, sim, "static")
            else:
                pairs.append((q, v))
        pairs = [(q, v) for q, v in pairs if owner[q] not in best]
        if pairs:
            asked = sorted({q for q, _ in pairs})
            missing = self.rescored.missing(v for _, v in pairs)
            vectors = embed(self.transformer(), [queries[q] for q in asked] + [self.texts[v] for v in missing],
                            opts.batch_size)
            self.rescored.add(missing, vectors[len(asked) :])
            query_vectors = dict(zip(asked, vectors[: len(asked)]))
            for q, v in pairs:
                sim = float(query_vectors[q] @ self.rescored.vectors[v])
                if sim >= opts.embedding_threshold:
                    keep_best(q, v, sim, "embedding")
        return list(best.values())

    def filter_batch(self, batch: pa.RecordBatch | pa.Table) -> tuple[pa.Table, list[dict]]:
        """Split ``batch`` (RECORD_SCHEMA) into the kept rows and one removal record per removed row."""
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if not self.options.enabled:
            return table, []
        found = row_texts(table)
        hits: list[tuple[int, int, str, float, str]] = []  # (position in found, variant, detector, score, text)
        if self.options.preset == "bagel-original":
            hits = [(i, v, "bagel-original", s, found.first[i]) for i, v, s in self._original(found.first)]
        else:
            scores, variants = self.ngram.score(found.whole)
            flagged = scores >= self.options.ngram_threshold
            for i in np.flatnonzero(flagged).tolist():
                flagged[i] = self._evidence(found.whole[i], int(variants[i]), self.options.number_share)
            hits = [(i, int(variants[i]), "ngram", float(scores[i]), found.whole[i]) for i in np.flatnonzero(flagged)]
            if self.options.preset == "default":
                todo = np.flatnonzero(~flagged)
                hits += [(i, v, d, s, t) for i, v, s, t, d in self._embedding(found.first, found.whole, todo)]
        removed = np.zeros(table.num_rows, dtype=bool)
        removals = []
        for i, variant, detector, score, text in sorted(hits):
            row = int(found.rows[i])
            removed[row] = True
            removals.append(self._record(table, row, variant, detector, score, text))
        kept = table.filter(pa.array(~removed)) if removals else table
        return kept.cast(RECORD_SCHEMA) if kept.schema != RECORD_SCHEMA else kept, removals
