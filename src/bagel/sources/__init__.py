"""The source registry: every module in this package that defines ``SOURCE`` is a source.

Recipes name registered sources; they may also declare their own sources with a generic
shape (see :mod:`bagel.sources.generic`), LLaMA-Factory style.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from rich.console import Console
from rich.table import Table

from bagel.errors import UserError
from bagel.sources.base import ConvertContext, Sample, Skip, Source

__all__ = ["ConvertContext", "Sample", "Skip", "Source", "get_source", "registry", "print_sources", "sources_json"]

_NOT_SOURCES = {"base", "shapes", "generic", "io", "humaneval_filter", "convert"}


@cache
def registry() -> dict[str, Source]:
    """All registered sources by name, in alphabetical module order (the tie-break order)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_SOURCES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        source = getattr(module, "SOURCE", None)
        if isinstance(source, Source):
            found[source.name] = source
    return found


def get_source(name: str) -> Source:
    """The registered source ``name``; a :class:`UserError` naming it when unknown."""
    try:
        return registry()[name]
    except KeyError:
        raise UserError(f"unknown source {name!r} (see `bagel sources`)") from None


def print_sources() -> None:
    """Print the registry as a table: name, kind, confidence, hub id, default sample."""
    table = Table(title="bagel sources")
    for column in ("name", "kind", "confidence", "hub id", "sample", "license"):
        table.add_column(column)
    for source in sorted(registry().values(), key=lambda s: (-s.confidence, s.name)):
        hub = source.hub_id or "-"
        if source.hub_config:
            hub += f" ({source.hub_config})"
        if source.revision:
            hub += f" @{source.revision}"
        sample = str(source.sample.n) if source.sample else "-"
        table.add_row(source.name, source.kind, str(source.confidence), hub, sample, source.license)
    Console(width=160).print(table)


def source_entry(source: Source) -> dict:
    """The ``bagel sources --json`` entry of ``source``: its declaration and the hub reads it makes.

    ``revision`` is the commit the source is pinned to by its declaration (None: unpinned; a
    recipe's lock file pins it at build time); ``ref`` is the branch it reads (None: the default).
    """
    from bagel.sources.hub import hub_reads, pinned_revision

    return {
        "name": source.name, "kind": source.kind, "confidence": source.confidence, "license": source.license,
        "hub_id": source.hub_id, "ref": (source.revision or "main") if source.hub_id else None,
        "revision": pinned_revision(source.pins, source.hub_id, source.revision) if source.hub_id else None,
        "config": source.hub_config, "split": source.split,
        "data_files": list(source.data_files) if source.data_files else None,
        "hub_reads": [read.as_dict(source.pins) for read in hub_reads(source)],
    }


def sources_json() -> str:
    """Every registered source as a JSON list, by name."""
    import json

    return json.dumps([source_entry(registry()[name]) for name in sorted(registry())], indent=2)
