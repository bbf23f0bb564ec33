"""The recipe's lock file: the hub commit each hub source reads, pinned as a package manager pins versions.

``bagel lock recipes/bagel.yaml`` asks the hub (``HfApi().dataset_info(repo, revision=ref).sha``)
for the current commit of every hub read of every enabled source and writes
``recipes/bagel.lock.yaml`` beside the recipe: human-readable YAML, sorted, one entry per
read with its hub id, requested ref, resolved commit, config, split and data files. Commit it
with the recipe. ``bagel build`` reads it when present: each read then loads that commit
(which also keys the convert cache and is written to the report and the card). A hub read
with no commit (no lock entry, or a recipe changed since) is *unpinned*: the build warns once
per source, and ``bagel build --frozen`` refuses it. A ``revision:`` that is a full commit sha
pins a source by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from bagel.config import Recipe
from bagel.errors import UserError
from bagel.log import logger
from bagel.pipeline.cache import atomic_write_bytes
from bagel.sources.hub import HubRead, HubUnavailable, hub_reads, is_commit, pin_key, pinned_revision, resolve_commit

LOCK_VERSION = 1
HEADER = ("# Hub commits of every hub source of {recipe}, written by `bagel lock {recipe}`.\n"
          "# Do not edit: rerun `bagel lock` to update; `bagel build --frozen` refuses sources not pinned here.\n")


def lock_path(recipe_path: Path) -> Path:
    """Where the lock of a recipe lives: ``<recipe stem>.lock.yaml`` beside it."""
    recipe_path = Path(recipe_path)
    return recipe_path.with_name(recipe_path.stem + ".lock.yaml")


def recipe_reads(recipe: Recipe) -> list[tuple[str, dict[str, str], list[HubRead]]]:
    """(source name, its pins, its hub reads) of every enabled source that reads from the hub, by name."""
    found = []
    for cfg, source in recipe.enabled_sources():
        reads = hub_reads(source, local=cfg.path is not None)
        if reads:
            found.append((source.name, dict(source.pins), reads))
    return sorted(found, key=lambda item: item[0])


def make_lock(recipe: Recipe, recipe_name: str, *, resolve: Callable[[str, str | None], str] = resolve_commit,
              skip_unavailable: bool = False) -> dict:
    """The lock of ``recipe``: every hub read resolved to its current commit (one hub call per repo and ref).

    A read that cannot be resolved raises :class:`HubUnavailable` naming its source, or with
    ``skip_unavailable`` is left out (its source then stays unpinned) with a warning.
    """
    commits: dict[str, str] = {}
    sources: dict[str, list[dict]] = {}
    for name, _, reads in recipe_reads(recipe):
        entries = []
        for read in reads:
            try:
                if read.key not in commits:
                    commits[read.key] = resolve(read.hub_id, read.ref)
            except HubUnavailable as err:
                if not skip_unavailable:
                    raise err.for_source(name) from None
                logger.warning("%s; left unpinned", err.for_source(name))
                continue
            entries.append({"hub_id": read.hub_id, "ref": read.ref or "main", "sha": commits[read.key],
                            "config": read.config, "split": read.split,
                            "data_files": list(read.data_files) if read.data_files else None})
        if entries:
            sources[name] = entries
    return {"lock_version": LOCK_VERSION, "recipe": recipe_name, "sources": sources}


def write_lock(path: Path, lock: dict) -> None:
    """Write ``lock`` as sorted YAML under a header comment, atomically."""
    text = HEADER.format(recipe=lock["recipe"]) + yaml.safe_dump(lock, sort_keys=True, allow_unicode=True)
    atomic_write_bytes(Path(path), text.encode("utf-8"))


def read_lock(path: Path) -> dict[str, dict[str, str]]:
    """The pins of a lock file, by source: ``{source: {"hub_id@ref": commit}}``; a bad file is a :class:`UserError`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise UserError(f"{path.name}: unreadable lock file ({str(err).splitlines()[0]}); rerun `bagel lock`") from None
    if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION or not isinstance(data.get("sources"), dict):
        raise UserError(f"{path.name}: not a bagel lock file of version {LOCK_VERSION}; rerun `bagel lock`")
    pins: dict[str, dict[str, str]] = {}
    for name, entries in data["sources"].items():
        for entry in entries if isinstance(entries, list) else [None]:
            if not isinstance(entry, dict) or not isinstance(entry.get("hub_id"), str) or not is_commit(entry.get("sha")):
                raise UserError(f"{path.name}: source {name}: each entry needs a hub_id and a 40-hex sha; "
                                "rerun `bagel lock`")
            pins.setdefault(name, {})[pin_key(entry["hub_id"], entry.get("ref"))] = entry["sha"]
    return pins


def apply_lock(recipe: Recipe, pins: dict[str, dict[str, str]]) -> None:
    """Pin each source of ``recipe`` to its lock entry's commits."""
    for cfg in recipe.sources:
        cfg.pin(pins.get(cfg.name, {}))


def unpinned(recipe: Recipe) -> dict[str, list[HubRead]]:
    """The hub reads of enabled sources that no commit pins, by source name."""
    found = {}
    for name, pins, reads in recipe_reads(recipe):
        loose = [read for read in reads if pinned_revision(pins, read.hub_id, read.ref) is None]
        if loose:
            found[name] = loose
    return found


def check_pins(recipe: Recipe, recipe_path: Path, *, frozen: bool) -> None:
    """Warn once per unpinned hub source; with ``frozen``, refuse them (one-line :class:`UserError`)."""
    loose = unpinned(recipe)
    if not loose:
        return
    lock = lock_path(recipe_path).name
    if frozen:
        raise UserError(f"--frozen: {len(loose)} hub source(s) not pinned in {lock}: {', '.join(loose)} "
                        f"(run `bagel lock {Path(recipe_path).name}`)")
    for name, reads in loose.items():
        what = ", ".join(read.key for read in reads)
        logger.warning("source %s: hub read %s not pinned to a commit (no entry in %s); `bagel lock` pins it",
                       name, what, lock)
