"""The display order of a report's steps and sources, read from report.json alone (nothing from the engine)."""

from __future__ import annotations


def steps(report: dict) -> list[str]:
    """The report's steps in pipeline order (``step_order``, which the build writes; else the order of
    ``steps``, which the build writes in pipeline order too)."""
    return [step for step in report.get("step_order", report["steps"]) if step in report["steps"]]


def sources(report: dict) -> list[tuple[str, dict]]:
    """``(name, info)`` of every source in load order: confidence descending, then name."""
    return sorted(report["sources"].items(), key=lambda item: (-item[1]["confidence"], item[0]))
