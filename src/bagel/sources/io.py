"""Reading a source's rows, from the hub or from local files, in batches of plain dicts.

Local files: parquet, jsonl, json (array or lines), csv, txt (one row ``{"text": ...}`` per
file), each optionally gzipped, or a directory of them (read in sorted order). Every local
row carries the name of its file (relative to the directory given) under ``__file__``,
for sources made of several files. A line that is not valid JSON becomes a marker
row ``{MALFORMED: "invalid_json"}`` that the convert step counts instead of crashing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

from bagel.memory import iter_parquet
from bagel.errors import UserError

MALFORMED = "__malformed__"
SPLIT = "__split__"
FILE = "__file__"
SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".txt")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def _base_suffix(path: Path) -> str:
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def local_files(path: Path) -> list[Path]:
    """The data files at ``path`` (itself, or the supported files below a directory, sorted)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"file not found: {path}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _base_suffix(p) in SUFFIXES)
        if not files:
            raise UserError(f"no parquet/jsonl/json/csv/txt files in {path}")
        return files
    if _base_suffix(path) not in SUFFIXES:
        raise UserError(f"unsupported file type {path.name} (use parquet, jsonl, json, csv or txt, optionally .gz)")
    return [path]


def batched(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """``rows`` in lists of ``size`` (the last one shorter)."""
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _json_lines(lines) -> Iterator[dict]:
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            yield {MALFORMED: "invalid_json"}
            continue
        yield row if isinstance(row, dict) else {MALFORMED: "row_not_object"}


def _read_file(path: Path, batch_size: int) -> Iterator[list[dict]]:
    suffix = _base_suffix(path)
    if suffix == ".parquet":
        for batch in iter_parquet(path, batch_size):
            yield batch.to_pylist()
        return
    with _open_text(path) as handle:
        if suffix == ".txt":
            yield [{"text": handle.read()}]
            return
        if suffix == ".csv":
            rows: Iterator[dict] = csv.DictReader(handle)
        elif suffix == ".json":
            head = handle.read(1)
            while head and head.isspace():
                head = handle.read(1)
            if head == "[":
                handle.seek(0)
                try:
                    data = json.load(handle)
                except json.JSONDecodeError as err:
                    raise UserError(f"{path}: invalid JSON ({err})") from None
                rows = (row if isinstance(row, dict) else {MALFORMED: "row_not_object"} for row in data)
            else:
                handle.seek(0)
                rows = _json_lines(handle)
        else:
            rows = _json_lines(handle)
        yield from batched(rows, batch_size)


def read_local(path: Path, batch_size: int = 2048) -> Iterator[list[dict]]:
    """Rows of a local file or directory, in batches, each row tagged with its file name."""
    root = Path(path)
    for file in local_files(root):
        name = file.name if file == root else str(file.relative_to(root))
        for batch in _read_file(file, batch_size):
            for row in batch:
                row[FILE] = name
            yield batch


def read_hub(
    hub_id: str, config: str | None, split: str | None, data_files: tuple[str, ...] | None, batch_size: int = 2048,
    revision: str | None = None,
) -> Iterator[list[dict]]:
    """Rows of a hub data set, streamed with ``datasets.load_dataset`` at ``revision`` (never remote code).

    ``split=None`` reads every split; each row then carries its split name under ``__split__``.
    A gated, missing or unreachable data set raises :class:`~bagel.sources.hub.HubUnavailable`.
    """
    import datasets
    import httpx

    from bagel.sources.hub import unavailable

    kwargs = {"streaming": True, "revision": revision}
    if data_files:
        kwargs["data_files"] = list(data_files)
    try:
        loaded = datasets.load_dataset(hub_id, config, split=split, **kwargs)
    except Exception as err:  # the hub client raises many types; all mean "could not load"
        raise unavailable(hub_id, revision, err) from None
    splits = loaded.items() if split is None else [(split, loaded)]
    try:  # streaming: files are fetched while iterating
        for name, dataset in splits:
            rows = dataset if split is not None else ({**row, SPLIT: name} for row in dataset)
            yield from batched(rows, batch_size)
    except (OSError, ValueError, RuntimeError, httpx.HTTPError, datasets.exceptions.DatasetsError) as err:
        raise unavailable(hub_id, revision, err) from None


def download_text(url: str, timeout: float = 60.0) -> str:
    """The body of ``url`` decoded as UTF-8; a :class:`UserError` when it cannot be downloaded."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode("utf-8-sig", errors="replace")
    except OSError as err:  # URLError, HTTPError and timeouts are all OSErrors
        reason = getattr(err, "reason", err)
        raise UserError(f"could not download {url} ({reason}); no network? give the source a local `path:`") from None


def fingerprint(path: Path) -> str:
    """A content fingerprint of a local file or directory (name, size, and a hash of the bytes)."""
    digest = hashlib.blake2b(digest_size=16)
    for file in local_files(path):
        digest.update(f"{file.name}:{file.stat().st_size}:".encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
