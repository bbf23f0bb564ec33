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

from collections.abc import Sequence
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
