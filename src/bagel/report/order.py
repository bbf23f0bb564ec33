"""The display order of a report's steps and sources (report.json itself is key-sorted)."""

from __future__ import annotations

from bagel.pipeline.build import STEPS


def steps(report: dict) -> list[str]:
    """The report's steps in pipeline order."""
    return [step for step in STEPS if step in report["steps"]]


def sources(report: dict) -> list[tuple[str, dict]]:
    """``(name, info)`` of every source in load order: confidence descending, then name."""
    return sorted(report["sources"].items(), key=lambda item: (-item[1]["confidence"], item[0]))
