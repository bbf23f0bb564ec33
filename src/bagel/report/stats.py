"""Length distributions and deterministic row samples of a build's ``sft.parquet`` / ``dpo.parquet``.

One streaming pass per file, a batch at a time (bounded memory):

- character lengths of every text field are binned exactly, per source and per format, into
  the fixed power-of-two bins :data:`EDGES`;
- per group, the rows with the smallest ``(id, format)`` are kept as a sample (at most
  ``sample_size`` rows). Ids are uuid5 hashes, so this is a uniform sample that depends only on
  the data, never on row order or batching. Token lengths (when a tokenizer is given) are
  measured on these samples; the report's example rows come from them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bagel.log import progress_batches
from bagel.memory import iter_parquet

EDGES = [0] + [2**k for k in range(2, 16)]  # bins [0,4) [4,8) ... [16K,32K) [32K,inf)
TEXT_FIELDS = {"sft": ("input", "output"), "dpo": ("prompt", "chosen", "rejected")}
GROUPINGS = ("source", "format")
BATCH_ROWS = 8192


@dataclass
class Lengths:
    """A length histogram over :data:`EDGES` with the row count, total and maximum."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(EDGES), dtype=np.int64))
    rows: int = 0
    total: int = 0
    longest: int = 0

    def add(self, lengths: np.ndarray) -> None:
        """Count ``lengths`` (an int array) in."""
        if len(lengths):
            self.counts += np.bincount(np.searchsorted(EDGES, lengths, side="right") - 1, minlength=len(EDGES))
            self.rows += len(lengths)
            self.total += int(lengths.sum())
            self.longest = max(self.longest, int(lengths.max()))

    @property
    def mean(self) -> float:
        """The mean length (0 when empty)."""
        return self.total / self.rows if self.rows else 0.0


@dataclass
class TableStats:
    """What one pass over sft.parquet or dpo.parquet found, keyed by ``(grouping, group[, field])``."""

    fields: tuple[str, ...]
    chars: dict[tuple[str, str, str], Lengths] = field(default_factory=dict)
    tokens: dict[tuple[str, str, str], Lengths] = field(default_factory=dict)
    samples: dict[tuple[str, str], list[dict]] = field(default_factory=dict)

    def groups(self, grouping: str) -> list[str]:
        """The groups of ``grouping`` seen, sorted."""
        return sorted({g for by, g, _ in self.chars if by == grouping})


def source_name(label: str, names: Sequence[str]) -> str:
    """The report's source a row's ``source`` value belongs to: sft rows carry a ``_<format>`` suffix
    (``piqa_alpaca``) and some sources a detail (``gutenberg <book>``); the longest matching name wins."""
    matches = [n for n in names if label == n or label.startswith((n + "_", n + " "))]
    return max(matches, key=len) if matches else label


def _row_key(row: dict) -> tuple[str, str]:
    return row["id"], row["format"]


def _offer(kept: list[dict], batch: pa.RecordBatch, order: np.ndarray, ids: np.ndarray, k: int) -> list[dict]:
    """Merge the rows ``order`` (sorted by id) of ``batch`` into the bottom-``k`` sample ``kept``."""
    if len(kept) >= k:
        order = order[: np.searchsorted(ids[order], kept[-1]["id"], side="right")]
    if not len(order):
        return kept
    rows = batch.take(pa.array(order[:k])).to_pylist()
    return sorted(kept + rows, key=_row_key)[:k]


def scan(path: Path, kind: str, sample_size: dict[str, int], sources: Sequence[str] = ()) -> TableStats:
    """Length histograms of every text field and per-group samples of ``path`` (``kind``: sft or dpo).

    ``sample_size``: rows to keep per group of each grouping (``{"source": 0, "format": 64}``);
    ``sources``: the report's source names, which rows are grouped under (see :func:`source_name`).
    """
    stats = TableStats(TEXT_FIELDS[kind])
    columns = ["id", *GROUPINGS, *stats.fields]
    batches = iter_parquet(path, BATCH_ROWS, columns)
    for batch in progress_batches(batches, desc=f"report: {Path(path).name}"):
        lengths = {f: pc.utf8_length(pc.fill_null(batch.column(f), "")).to_numpy() for f in stats.fields}
        ids = batch.column("id").to_numpy(zero_copy_only=False)
        order = pc.sort_indices(batch, [("id", "ascending"), ("format", "ascending")]).to_numpy()
        for by in GROUPINGS:
            encoded = pc.fill_null(batch.column(by), "").dictionary_encode()
            codes = encoded.indices.to_numpy()
            sorted_codes = codes[order]
            for code, label in enumerate(encoded.dictionary.to_pylist()):
                group = source_name(label, sources) if by == "source" else label
                for name, values in lengths.items():
                    stats.chars.setdefault((by, group, name), Lengths()).add(values[codes == code])
                k = sample_size.get(by, 0)
                if k:
                    kept = stats.samples.get((by, group), [])
                    stats.samples[(by, group)] = _offer(kept, batch, order[sorted_codes == code], ids, k)
    return stats


def count_tokens(stats: TableStats, counter) -> None:
    """Fill ``stats.tokens`` with token-length histograms of the sampled rows (a :class:`~bagel.tokens.TokenCounter`
    with a tokenizer: no special tokens added)."""
    for (by, group), rows in sorted(stats.samples.items()):
        for name in stats.fields:
            stats.tokens.setdefault((by, group, name), Lengths()).add(counter.count([row[name] or "" for row in rows]))


# --- token statistics over every row (report.json "tokens") ------------------------------------------

PROMPT_RESPONSE = {"sft": ("input", "output", None), "dpo": ("prompt", "chosen", "rejected")}


class LengthCounts:
    """How often each length occurs: a length distribution in memory bounded by its distinct values (not by
    its rows), with the exact sum, percentiles (numpy's linear method), max and share above a limit."""

    def __init__(self):
        self.counts: dict[int, int] = {}

    def add(self, lengths: np.ndarray) -> None:
        """Count ``lengths`` (an int array) in."""
        values, counts = np.unique(lengths, return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist()):
            self.counts[value] = self.counts.get(value, 0) + count

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


def _labels(column: pa.Array, name: Callable[[str], str]) -> list[tuple[str, np.ndarray]]:
    """``(name(value), rows)`` per distinct value of ``column`` (null as ""), in order of first appearance
    (the order Arrow's dictionary encoding numbers them in); values with the same name share one mask."""
    encoded = pc.dictionary_encode(pc.fill_null(column, ""))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    masks: dict[str, np.ndarray] = {}
    for code, value in enumerate(encoded.dictionary.to_pylist()):
        label = name(value)
        masks[label] = masks[label] | (indices == code) if label in masks else indices == code
    return list(masks.items())


def token_summary(out_dir: Path, sources: Sequence[str], counter, max_seq_length: int) -> dict:
    """Prompt and response lengths of every row of sft.parquet and dpo.parquet (in ``counter.unit``: a
    tokenizer's tokens, or words), per source, per format and per kind: sum, p50, p95, max, and the share
    of rows longer than ``max_seq_length`` (prompt + the longer response); per dpo source, the mean
    chosen / mean rejected length (length bias). Memory is bounded by the distinct lengths, not the rows."""
    groups: dict[tuple[str, str], dict] = {}
    for kind, (prompt_col, response_col, rejected_col) in PROMPT_RESPONSE.items():
        columns = ["source", "format", prompt_col, response_col] + ([rejected_col] if rejected_col else [])
        for batch in progress_batches(iter_parquet(Path(out_dir) / f"{kind}.parquet", BATCH_ROWS, columns),
                                      desc=f"report: {counter.unit} in {kind}.parquet"):
            def lengths(name):
                return counter.count(pc.fill_null(batch.column(name), "").to_pylist())

            prompt, response = lengths(prompt_col), lengths(response_col)
            rejected = lengths(rejected_col) if rejected_col else None
            longest = np.maximum(response, rejected) if rejected is not None else response
            labels = {"source": _labels(batch.column("source"), lambda s: source_name(s, sources)),
                      "format": _labels(batch.column("format"), lambda f: f),
                      "kind": [(kind, np.ones(batch.num_rows, dtype=bool))]}
            for by, masks in labels.items():
                for label, rows in masks:
                    group = groups.setdefault((by, label), {"prompt": LengthCounts(), "response": LengthCounts(),
                                                            "total": LengthCounts(), "chosen": 0, "rejected": 0,
                                                            "pairs": 0})
                    group["prompt"].add(prompt[rows])
                    group["response"].add(response[rows])
                    group["total"].add(prompt[rows] + longest[rows])
                    if rejected is not None:
                        group["chosen"] += int(response[rows].sum())
                        group["rejected"] += int(rejected[rows].sum())
                        group["pairs"] += int(rows.sum())
    out: dict = {"unit": counter.unit, "tokenizer": counter.spec, "max_seq_length": max_seq_length,
                 "by_source": {}, "by_format": {}, "by_kind": {}}
    for (by, label), group in sorted(groups.items()):
        entry = {"rows": group["total"].rows, "prompt": group["prompt"].spread(),
                 "response": group["response"].spread(),
                 "truncated_share": round(group["total"].share_above(max_seq_length), 6)}
        if by == "source" and group["pairs"]:
            entry["chosen_rejected_ratio"] = (round(group["chosen"] / group["rejected"], 4) if group["rejected"]
                                              else None)
        out[f"by_{by}"][label] = entry
    return out
