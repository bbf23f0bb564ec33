"""The benchmark registry and loader: registered benchmarks, user-added ones, local file or hub."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from bagel.benchmarks import alpaca_eval, arc_challenge, drop, gsm8k, humaneval, mmlu, mt_bench, truthfulqa, winogrande
from bagel.benchmarks.base import Benchmark, BenchmarkItems
from bagel.benchmarks.files import read_rows
from bagel.errors import UserError
from bagel.log import logger

REGISTRY: dict[str, Benchmark] = {
    m.BENCHMARK.name: m.BENCHMARK
    for m in (alpaca_eval, mt_bench, drop, winogrande, mmlu, truthfulqa, gsm8k, arc_challenge, humaneval)
}


class BenchmarkEntry(BaseModel):
    """A benchmark in a recipe: a registered name (optionally pointed at a local file), or a user benchmark.

    A user benchmark (a name not in the registry) needs ``path`` and ``fields``: the text of a row is
    its ``fields`` joined by a newline.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    path: Path | None = None
    fields: list[str] | None = None


def bundled_path(bench: Benchmark) -> Path | None:
    """The bundled copy of ``bench`` inside the package, or None."""
    if not bench.bundled:
        return None
    path = Path(str(resources.files("bagel") / "data" / "benchmarks" / bench.bundled))
    return path if path.is_file() else None


def available_offline() -> list[str]:
    """Registered benchmarks that have a bundled copy."""
    return [name for name, bench in REGISTRY.items() if bundled_path(bench)]


def parse_entry(spec: str | dict | BenchmarkEntry) -> BenchmarkEntry:
    """``"gsm8k"``, ``"gsm8k=path"``, a dict or an entry -> a checked :class:`BenchmarkEntry`."""
    if isinstance(spec, str):
        name, _, path = spec.partition("=")
        spec = {"name": name.strip(), "path": path.strip() or None}
    entry = spec if isinstance(spec, BenchmarkEntry) else BenchmarkEntry.model_validate(spec)
    if entry.name not in REGISTRY and not (entry.path and entry.fields):
        known = ", ".join(REGISTRY)
        raise UserError(f"unknown benchmark {entry.name!r}: use one of {known}, or give path and fields")
    return entry


def _user_texts(fields: list[str]):
    def texts(row: dict) -> list[str]:
        missing = [f for f in fields if f not in row]
        if missing:
            raise KeyError(missing[0])
        return ["\n".join(str(row[f]) for f in fields)]

    return texts


def _hub_rows(bench: Benchmark) -> list[dict]:
    from datasets import load_dataset

    hub = bench.hub
    return list(load_dataset(hub.path, hub.name, split=hub.split))


def _rows(entry: BenchmarkEntry, bench: Benchmark | None, use_hub: bool) -> tuple[list[dict], str] | None:
    if entry.path:
        return read_rows(entry.path), str(entry.path)
    local = bundled_path(bench)
    if local:
        return read_rows(local), f"bundled {local.name}"
    if use_hub and bench.hub:
        try:
            return _hub_rows(bench), f"hub {bench.hub.path}"
        except Exception as err:  # offline, gated, script-based: the user is told, the build goes on
            logger.warning("benchmark %s: hub load failed (%s); skipped", entry.name, err)
            return None
    logger.warning("benchmark %s: no local file%s; skipped", entry.name, "" if use_hub else " and hub loading is off")
    return None


def load_benchmark(spec: str | dict | BenchmarkEntry, use_hub: bool = False) -> BenchmarkItems | None:
    """Load the items of one benchmark; None (with a warning) when it is not available.

    Order of preference: the entry's ``path``, the bundled copy, then the hub when ``use_hub``.
    Rows the text rule cannot read are counted and skipped.
    """
    entry = parse_entry(spec)
    bench = REGISTRY.get(entry.name)
    texts = _user_texts(entry.fields) if entry.fields else bench.texts
    got = _rows(entry, bench, use_hub)
    if got is None:
        return None
    rows, origin = got
    items, bad = BenchmarkItems(entry.name), 0
    for row in rows:
        try:
            items.add(texts(row))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            bad += 1
    if bad:
        logger.warning("benchmark %s: %d of %d rows unreadable, skipped", entry.name, bad, len(rows))
    if not items.display:
        raise UserError(f"benchmark {entry.name}: no readable rows in {origin}")
    logger.info("benchmark %s: %d items from %s", entry.name, len(items.display), origin)
    return items
