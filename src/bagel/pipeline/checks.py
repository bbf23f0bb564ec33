"""Loud checks on a source's convert step: nothing converted fails the build, many malformed rows warn.

A source that read rows but converted none, with malformed rows at least as many as every other
drop together, stops the build with one line (the source, where it was read from, the top
reasons and one example row); ``allow_empty: true`` on the source makes that a warning. A source
whose malformed share is over ``max_malformed`` (the source's, else the recipe's) warns. Warnings
go to the log and, through the convert step's result, to the summary table and the report.
"""

from __future__ import annotations

from bagel.config import Recipe, SourceConfig
from bagel.errors import UserError
from bagel.log import logger
from bagel.sources.base import Source

TOP_REASONS = 3


def _malformed(dropped: dict) -> dict:
    return {reason: n for reason, n in dropped.items() if reason.startswith("malformed:")}


def _top(counts: dict) -> str:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
    return ", ".join(f"{reason}={n:,}" for reason, n in ranked)


def _example(examples: dict, malformed: dict) -> str:
    reason = min(malformed, key=lambda r: (-malformed[r], r))
    example = examples.get(reason)
    if not example:
        return ""
    where = f"{example['file']}: " if example.get("file") else ""
    return f"; e.g. {where}{example['row']}"


def check_converted(recipe: Recipe, cfg: SourceConfig, source: Source, rows_in: int, kept: int, dropped: dict,
                    examples: dict) -> tuple[str | None, list[str]]:
    """``(error, warnings)`` of one source's convert step (warnings logged here). The error, when the
    source converted nothing because its rows were malformed and it does not ``allow_empty``, is raised
    by :func:`raise_failures` in the process that drives the build (whatever engine ran the step)."""
    malformed = _malformed(dropped)
    bad = sum(malformed.values())
    if not bad:
        return None, []
    where = recipe.display_path(cfg.path) if cfg.path is not None else (source.hub_id or source.name)
    example = _example(examples, malformed)
    if kept == 0 and bad >= sum(dropped.values()) - bad:
        message = f"source {source.name}: read {rows_in:,} rows from {{}} but converted none ({_top(malformed)})"
        if not cfg.allow_empty:  # an error stays on this machine: the full path; a warning goes in the report
            return (message.format(cfg.path or where) + example
                    + "; fix the input or set `allow_empty: true` on the source"), []
        warnings = [message.format(where) + example]
    else:
        limit = cfg.max_malformed if cfg.max_malformed is not None else recipe.max_malformed
        total = max(rows_in, kept + sum(dropped.values()))
        if bad / total <= limit:
            return None, []
        warnings = [f"source {source.name}: {bad:,} of {total:,} rows malformed ({bad / total:.1%}, over "
                    f"max_malformed {limit:.0%}): {_top(malformed)}{example}"]
    for warning in warnings:
        logger.warning(warning)
    return None, warnings


def raise_failures(converted: list) -> None:
    """Stop the build (:class:`UserError`) at the first convert step that failed its check."""
    for result in converted:
        if result.extra.get("error"):
            raise UserError(result.extra["error"])
