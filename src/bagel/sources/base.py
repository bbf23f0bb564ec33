"""What a data source is: its declaration (where its rows live, how trusted it is) and its converter.

Each source module under ``bagel.sources`` defines one :class:`Source` named ``SOURCE``.
A converter sees plain row dicts (the hub data set's columns) and never knows whether
they came from the hub or from a local file.

A converter is either per row (``convert_row(row, ctx)`` returning a record, a list of
records, or None) or per source (``convert_rows(rows, ctx)`` yielding records) when it
needs to see several rows at once (grouping, pairing, concatenation). To drop a row on
purpose it raises :class:`Skip` with a reason; a row that lacks a field or has a wrong
type is counted as ``malformed:<why>`` by the framework.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from bagel.records import item_uniform
from bagel.sources.hub import HubRead

DedupPolicy = Literal["check_add", "add", "none"]
RefusalScope = Literal["none", "responses", "all_turns", "chosen"]


class Skip(Exception):
    """Raised by a converter to drop the current row on purpose; ``reason`` is counted."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def malformed_reason(err: Exception) -> str:
    """The ``malformed:<why>`` reason for an exception raised while converting a row."""
    if isinstance(err, KeyError):
        return f"malformed:missing_field:{err.args[0]}"
    if isinstance(err, (TypeError, AttributeError)):
        return "malformed:wrong_type"
    return "malformed:bad_value"


@dataclass(frozen=True)
class Sample:
    """A deterministic sample: the ``n`` items with the lowest per-item hash of (seed, id).

    ``stratify``: None (one pool), ``"proportional"`` (each stratum keeps its share of n,
    largest remainders first) or ``"each"`` (n items from every stratum). ``stage``: before
    or after the global dedup.
    """

    n: int
    stratify: Literal[None, "proportional", "each"] = None
    stage: Literal["before_dedup", "after_dedup"] = "before_dedup"


@dataclass(frozen=True)
class Source:
    """A registered data source: declaration plus converter."""

    name: str
    kind: str  # "sft", "dpo", "text", or "sft+dpo" / "sft+text" for sources that yield several kinds
    confidence: int
    description: str
    license: str
    hub_id: str | None = None
    hub_config: str | None = None
    split: str | None = "train"
    data_files: tuple[str, ...] | None = None  # specific files of the hub repo
    fetch: Callable[[Source], Iterator[list[dict]]] | None = None  # how to read it without a path, if not the hub
    convert_row: Callable[[dict, ConvertContext], Any] | None = None
    convert_rows: Callable[[Iterable[dict], ConvertContext], Iterator[dict]] | None = None
    dedup: DedupPolicy = "check_add"
    refusal: RefusalScope = "none"
    sample: Sample | None = None
    options: dict = field(default_factory=dict)  # source-specific defaults, overridable in the recipe
    revision: str | None = None  # hub ref to load: None = default branch; refs/convert/parquet; or a commit sha
    hub_reads: Callable[[Source, bool], list[HubRead]] | None = None  # (source, local) -> its hub reads, if not one
    pins: Mapping[str, str] = field(default_factory=dict)  # "hub_id@ref" -> commit sha, from the lock file

    def __post_init__(self):
        if (self.convert_row is None) == (self.convert_rows is None):
            raise ValueError(f"source {self.name}: define exactly one of convert_row / convert_rows")


@dataclass
class ConvertContext:
    """What a converter may use besides its rows: the seed, options, shared resources, counters."""

    source: str
    seed: int
    options: dict = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    refusal_matcher: Callable[[str], str | None] = lambda text: None
    pins: Mapping[str, str] = field(default_factory=dict)  # the source's hub pins, for reads inside a converter

    def uniform(self, purpose: str, key: str) -> float:
        """A per-item uniform float in [0, 1) from the seed, this source, a purpose and an item key."""
        return item_uniform(self.seed, f"{self.source}:{purpose}", key)

    def refusal(self, text: str) -> str | None:
        """The refusal pattern ``text`` matches, or None."""
        return self.refusal_matcher(text)

    def skip_if_refusal(self, text: str) -> None:
        """Raise :class:`Skip` (``refusal:<pattern>``) when ``text`` looks like a refusal."""
        pattern = self.refusal(text)
        if pattern is not None:
            raise Skip(f"refusal:{pattern}")

    def each(self, rows: Iterable[dict], convert: Callable[[dict, ConvertContext], Any]) -> Iterator[dict]:
        """Apply a per-row ``convert`` to ``rows``, yielding its records and counting every drop.

        A :class:`Skip` counts its reason; a missing field, wrong type or bad value counts
        ``malformed:<why>``; a None result counts ``skipped``. One bad row never stops the rest.
        """
        for row in rows:
            try:
                out = convert(row, self)
            except Skip as skip:
                self.counts[skip.reason] += 1
                continue
            except (KeyError, TypeError, AttributeError, ValueError, IndexError) as err:
                self.counts[malformed_reason(err)] += 1
                continue
            if out is None:
                self.counts["skipped"] += 1
            elif isinstance(out, dict):
                yield out
            else:
                yield from out

    @cached_property
    def humaneval_solutions(self) -> list[str]:
        """The canonical solutions of the 164 HumanEval problems shipped with the package."""
        from bagel.sources.humaneval_filter import canonical_solutions

        return canonical_solutions()
