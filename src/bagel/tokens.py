"""Token counting for the mix and the report: a tokenizer's tokens, or whitespace words when none is configured.

Texts are counted as they are, without special tokens. The tokenizer is a local folder or a hub
id, loaded with ``AutoTokenizer.from_pretrained`` (offline when ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bagel.errors import UserError
from bagel.records import as_array

PROMPT_RESPONSE = {"sft": ("input", "output", None), "dpo": ("prompt", "chosen", "rejected")}


def load_tokenizer(spec: str, local_files_only: bool = False):
    """The tokenizer ``spec`` names; a :class:`UserError` when it cannot be loaded."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(spec, local_files_only=local_files_only)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load tokenizer {spec!r}: {str(err).splitlines()[0]}") from None


class TokenCounter:
    """Counts tokens with a tokenizer (``spec``), or words (whitespace-separated) when ``spec`` is None."""

    def __init__(self, spec: str | None, tokenizer=None):
        self.spec = spec
        self.unit = "tokens" if spec else "words"
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(spec) if spec else None

    def count(self, texts: list[str]) -> np.ndarray:
        """The length of each text (int64), in :attr:`unit`."""
        if self.tokenizer is None:
            return np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
        if not texts:
            return np.zeros(0, dtype=np.int64)
        ids = self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))


def record_texts(table: pa.Table | pa.RecordBatch) -> list[str]:
    """The trained text of each record: every turn of an sft chat, prompt + chosen of a pair, or the text."""
    out = []
    for kind, turns, prompt, chosen, body in zip(*(table.column(c).to_pylist() for c in
                                                   ("kind", "conversations", "prompt", "chosen", "text"))):
        if kind == "dpo":
            out.append(f"{prompt or ''}\n{chosen or ''}")
        elif kind == "text":
            out.append(body or "")
        else:
            out.append("\n".join(t["value"] or "" for t in turns or []))
    return out


class LengthCounts:
    """How often each length occurs: a length distribution in memory bounded by its distinct values (not by
    its rows), with the exact sum, percentiles (numpy's linear method), max and share above a limit."""

    def __init__(self):
        self.counts: Counter[int] = Counter()

    def add(self, lengths: np.ndarray) -> None:
        """Count ``lengths`` (an int array) in."""
        values, counts = np.unique(lengths, return_counts=True)
        self.counts.update(dict(zip(values.tolist(), counts.tolist())))

    def merge(self, other: LengthCounts) -> None:
        """Count ``other``'s lengths in."""
        self.counts.update(other.counts)

    def to_json(self) -> list[list[int]]:
        """``[length, count]`` pairs (what :meth:`from_json` reads)."""
        return [[value, count] for value, count in sorted(self.counts.items())]

    @classmethod
    def from_json(cls, pairs: list[list[int]]) -> LengthCounts:
        """The counts :meth:`to_json` wrote."""
        counts = cls()
        counts.counts = Counter({int(value): int(count) for value, count in pairs})
        return counts

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.array(sorted(self.counts), dtype=np.int64)
        return values, np.cumsum([self.counts[v] for v in values.tolist()], dtype=np.int64)

    @property
    def rows(self) -> int:
        """How many lengths were counted."""
        return sum(self.counts.values())

    def share_above(self, limit: int) -> float:
        """The share of lengths above ``limit`` (0 when empty)."""
        rows = self.rows
        return sum(c for v, c in self.counts.items() if v > limit) / rows if rows else 0.0

    def spread(self) -> dict:
        """sum, p50, p95 and max, as ``np.percentile`` gives them over every length."""
        if not self.counts:
            return {"sum": 0, "p50": 0, "p95": 0, "max": 0}
        values, ends = self._sorted()

        def nth(i: int) -> int:  # the i-th smallest length
            return int(values[np.searchsorted(ends, i, side="right")])

        def percentile(q: float) -> float:  # numpy's "linear": between order statistics floor(v) and floor(v) + 1
            virtual = (int(ends[-1]) - 1) * (q / 100)
            if virtual >= ends[-1] - 1:
                return float(values[-1])
            below = int(np.floor(virtual))
            gamma, a, b = virtual - below, nth(below), nth(below + 1)
            return float(b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)

        return {"sum": sum(v * c for v, c in self.counts.items()), "p50": percentile(50), "p95": percentile(95),
                "max": int(values[-1])}


def _labels(column: pa.Array | pa.ChunkedArray, name: Callable[[str], str]) -> list[tuple[str, np.ndarray]]:
    """``(name(value), rows)`` per distinct value of ``column`` (null as ""), in order of first appearance
    (the order Arrow's dictionary encoding numbers them in); values with the same name share one mask."""
    encoded = pc.dictionary_encode(pc.fill_null(as_array(column), ""))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    masks: dict[str, np.ndarray] = {}
    for code, value in enumerate(encoded.dictionary.to_pylist()):
        label = name(value)
        masks[label] = masks[label] | (indices == code) if label in masks else indices == code
    return list(masks.items())


GROUP_LENGTHS = ("prompt", "response", "total")
GROUP_SUMS = ("chosen", "rejected", "pairs")


class TokenStats:
    """Prompt, response and total (prompt + the longer response) lengths of training rows per source, per
    format and per kind, and per dpo source the chosen and rejected sums (length bias): counted batch by
    batch (a render shard's rows, or a file read back), merged across shards, and summarised for the
    report. Memory is bounded by the distinct lengths, not the rows."""

    def __init__(self):
        self.groups: dict[tuple[str, str], dict] = {}

    def _group(self, by: str, label: str) -> dict:
        return self.groups.setdefault((by, label), {**{n: LengthCounts() for n in GROUP_LENGTHS},
                                                    **{n: 0 for n in GROUP_SUMS}})

    def add(self, kind: str, batch: pa.Table | pa.RecordBatch, counter: TokenCounter,
            source: str | Callable[[str], str]) -> None:
        """Count the ``kind`` (sft or dpo) rows of ``batch`` in, all as from ``source``, or each as from
        ``source(its source value)``."""
        prompt_col, response_col, rejected_col = PROMPT_RESPONSE[kind]

        def lengths(name):
            return counter.count(pc.fill_null(batch.column(name), "").to_pylist())

        prompt, response = lengths(prompt_col), lengths(response_col)
        rejected = lengths(rejected_col) if rejected_col else None
        longest = np.maximum(response, rejected) if rejected is not None else response
        every = np.ones(batch.num_rows, dtype=bool)
        labels = {"source": [(source, every)] if isinstance(source, str) else _labels(batch.column("source"), source),
                  "format": _labels(batch.column("format"), lambda f: f),
                  "kind": [(kind, every)]}
        for by, masks in labels.items():
            for label, rows in masks:
                group = self._group(by, label)
                group["prompt"].add(prompt[rows])
                group["response"].add(response[rows])
                group["total"].add(prompt[rows] + longest[rows])
                if rejected is not None:
                    group["chosen"] += int(response[rows].sum())
                    group["rejected"] += int(rejected[rows].sum())
                    group["pairs"] += int(rows.sum())

    def merge(self, other: TokenStats) -> None:
        """Count ``other``'s rows in."""
        for (by, label), theirs in other.groups.items():
            mine = self._group(by, label)
            for name in GROUP_LENGTHS:
                mine[name].merge(theirs[name])
            for name in GROUP_SUMS:
                mine[name] += theirs[name]

    def to_json(self) -> list:
        """A JSON form (saved with a render shard's cached result; :meth:`from_json` reads it)."""
        return [[by, label, {**{n: group[n].to_json() for n in GROUP_LENGTHS}, **{n: group[n] for n in GROUP_SUMS}}]
                for (by, label), group in sorted(self.groups.items())]

    @classmethod
    def from_json(cls, data: list) -> TokenStats:
        """The stats :meth:`to_json` wrote."""
        stats = cls()
        for by, label, group in data:
            stats.groups[(by, label)] = {**{n: LengthCounts.from_json(group[n]) for n in GROUP_LENGTHS},
                                         **{n: group[n] for n in GROUP_SUMS}}
        return stats

    def summary(self, spec: str | None, max_seq_length: int) -> dict:
        """report.json's ``tokens`` for lengths counted with the tokenizer ``spec`` (None: words): per source,
        format and kind, rows, prompt and response lengths (sum, p50, p95, max) and the share of rows longer
        than ``max_seq_length``; per dpo source, the mean chosen / mean rejected length."""
        out: dict = {"unit": "tokens" if spec else "words", "tokenizer": spec, "max_seq_length": max_seq_length,
                     "by_source": {}, "by_format": {}, "by_kind": {}}
        for (by, label), group in sorted(self.groups.items()):
            entry = {"rows": group["total"].rows, "prompt": group["prompt"].spread(),
                     "response": group["response"].spread(),
                     "truncated_share": round(group["total"].share_above(max_seq_length), 6)}
            if by == "source" and group["pairs"]:
                entry["chosen_rejected_ratio"] = (round(group["chosen"] / group["rejected"], 4) if group["rejected"]
                                                  else None)
            out[f"by_{by}"][label] = entry
        return out
