"""Where each source of a build came from, for the card and the report page: license, hub id, the commit
read (or "unpinned"), non-commercial licenses, and the sources skipped because the hub refused them."""

from __future__ import annotations

import re

from bagel.report import order

NON_COMMERCIAL = re.compile(r"(?<![a-z])nc(?![a-z])|non-?commercial", re.IGNORECASE)
ORIGINS = {"local": "local file", "download": "downloaded", "hub": "hub"}


def revision_text(read: dict) -> str:
    """A hub read's commit, or ``unpinned (<ref>)``."""
    return read["revision"] or f"unpinned ({read['ref']})"


def rows(report: dict) -> list[list[str]]:
    """Per source, in report order: name, license, hub id(s) (or where the rows came from), revision(s)."""
    out = []
    for name, info in order.sources(report):
        reads = info.get("hub_reads")
        if reads is None:  # a report written before hub reads were recorded
            hub, revision = info["hub_id"] or "local file", "—"
        else:
            hub = ", ".join(read["hub_id"] for read in reads) or ORIGINS.get(info.get("origin"), "local file")
            revision = ", ".join(revision_text(read) for read in reads) or "—"
        out.append([name, info["license"] or "unknown", hub, revision])
    return out


def non_commercial(report: dict) -> list[tuple[str, str]]:
    """(source, license) of every source whose license forbids commercial use (NC)."""
    return [(name, info["license"]) for name, info in order.sources(report)
            if info["license"] and NON_COMMERCIAL.search(info["license"])]


def skipped(report: dict) -> list[dict]:
    """The sources left out of the build because the hub could not serve them (``--skip-unavailable``)."""
    return list(report.get("skipped") or [])


def skipped_line(entry: dict) -> str:
    """One skipped source as text: what failed and what to do."""
    return f"{entry['source']}: {entry['hub_id']} — {entry['cause'].replace('_', ' ')} ({entry['detail']}); {entry['hint']}"
