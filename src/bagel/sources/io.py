"""Reading a source's rows, from the hub or from local files, in batches of plain dicts.

Local files: parquet, jsonl, json (an array, JSON Lines, or one object = one row), csv, txt
(one row ``{"text": ...}`` per file), each optionally gzipped, or a directory of them (read in
sorted order). Every local row carries the name of its file (relative to the directory given)
under ``__file__``, for sources made of several files.

Text is UTF-8, with or without a byte-order mark. One bad row never loses the file: a line or
item that cannot be read becomes a marker row ``{MALFORMED: <why>, RAW: <its start>}`` that
the convert step counts as ``malformed:<why>``: ``encoding`` (bytes that are not UTF-8),
``invalid_json``, ``invalid_csv``, ``row_not_object``. JSON arrays are streamed (``ijson``),
so a broken tail keeps every item before it; CSV cells may be of any size.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bagel.memory import iter_parquet
from bagel.errors import UserError
from bagel.log import logger

MALFORMED = "__malformed__"
SPLIT = "__split__"
FILE = "__file__"
RAW = "__raw__"  # on a marker row: the start of the raw text that could not be read
RAW_CHARS = 200
UNDECODABLE = "\U0010fffe"  # stands in for bytes that are not UTF-8 (a noncharacter, never in real text)
CSV_FIELD_LIMIT = 2**31 - 1  # csv's own limit is 128 KiB per cell
SUFFIXES = (".parquet", ".jsonl", ".json", ".csv", ".txt")


def _mark_undecodable(err: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 become :data:`UNDECODABLE` (one per bad run)."""
    return UNDECODABLE, err.end


codecs.register_error("bagel-undecodable", _mark_undecodable)


def _open_text(path: Path) -> io.TextIOBase:
    """``path`` as text: UTF-8 with or without a byte-order mark, undecodable bytes marked (never raised)."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="bagel-undecodable", newline="")
    return path.open("r", encoding="utf-8-sig", errors="bagel-undecodable", newline="")


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


def _malformed(reason: str, raw: str) -> dict:
    """The marker row of a row that could not be read, with the start of its raw text as the example."""
    return {MALFORMED: reason, RAW: raw[:RAW_CHARS]}


def _json_lines(lines: Iterable[str]) -> Iterator[dict]:
    for line in lines:
        if not line.strip():
            continue
        if UNDECODABLE in line:
            yield _malformed("encoding", line)
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            yield _malformed("invalid_json", line)
            continue
        yield row if isinstance(row, dict) else _malformed("row_not_object", line)


def csv_rows(handle: Iterable[str]) -> Iterator[dict]:
    """The rows of CSV text (header line first): cells of any size; a row that cannot be read is one marker."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    rows = csv.DictReader(handle)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as err:
            yield _malformed("invalid_csv", str(err))
            continue
        values = [v for v in row.values() if isinstance(v, str)]
        yield _malformed("encoding", ",".join(values)) if any(UNDECODABLE in v for v in values) else row


def _csv_file(path: Path) -> Iterator[dict]:
    with _open_text(path) as handle:
        yield from csv_rows(handle)


class _Utf8Bytes:
    """A text handle read back as UTF-8 bytes (for ``ijson``), noting whether any undecodable bytes went by."""

    def __init__(self, handle: io.TextIOBase):
        self.handle = handle
        self.undecodable = False

    def read(self, size: int = -1) -> bytes:
        text = self.handle.read(size)
        self.undecodable = self.undecodable or UNDECODABLE in text
        return text.encode("utf-8")


def _array_item(item, undecodable: bool) -> dict:
    if not isinstance(item, dict):
        return _malformed("row_not_object", json.dumps(item, ensure_ascii=False))
    if undecodable and UNDECODABLE in (text := json.dumps(item, ensure_ascii=False)):
        return _malformed("encoding", text)
    return item


def _json_array(path: Path) -> Iterator[dict]:
    """The items of a JSON array file, streamed with ``ijson``.

    ``ijson`` is strict JSON: at a token it rejects, the file is parsed whole with ``json`` (which
    also takes the ``NaN`` / ``Infinity`` that Python's ``json.dump`` writes) and the rest of its
    items follow; when that fails too, the items before the error are kept and the broken tail is
    one marker row.
    """
    import ijson

    done = 0
    with _open_text(path) as handle:
        stream = _Utf8Bytes(handle)
        try:
            for item in ijson.items(stream, "item", use_float=True):
                yield _array_item(item, stream.undecodable)
                done += 1
            return
        except ijson.JSONError as err:
            error = str(err).splitlines()[0]
        handle.seek(0)
        try:
            items = json.loads(handle.read())
        except json.JSONDecodeError:
            items = None
    if not isinstance(items, list):
        logger.warning("%s: invalid JSON after item %d, the rest of the file is not read (%s)", path.name, done,
                       error)
        yield _malformed("invalid_json", error)
        return
    for item in items[done:]:
        yield _array_item(item, True)


def _json_object_or_lines(path: Path) -> Iterator[dict]:
    """A ``.json`` file that does not hold an array: JSON Lines, or one (pretty-printed) object as one row."""
    with _open_text(path) as handle:
        first = handle.readline()
        try:
            json.loads(first)
            one_object = False
        except json.JSONDecodeError:  # a first line that is no whole JSON value: maybe one object over many
            handle.seek(0)
            text = handle.read()
            try:
                whole = json.loads(text)
                one_object = isinstance(whole, dict)
            except json.JSONDecodeError:
                one_object = False
    if one_object:
        yield _malformed("encoding", text) if UNDECODABLE in text else whole
        return
    with _open_text(path) as handle:
        yield from _json_lines(handle)


def _first_char(path: Path) -> str:
    """The first character of a text file that is not white space ('' for an empty file)."""
    with _open_text(path) as handle:
        while (char := handle.read(1)).isspace():
            pass
    return char


def _read_file(path: Path, batch_size: int) -> Iterator[list[dict]]:
    suffix = _base_suffix(path)
    if suffix == ".parquet":
        for batch in iter_parquet(path, batch_size):
            yield batch.to_pylist()
        return
    if suffix == ".txt":
        with _open_text(path) as handle:
            yield [{"text": handle.read().replace(UNDECODABLE, "\ufffd")}]
        return
    if suffix == ".csv":
        rows: Iterator[dict] = _csv_file(path)
    elif suffix == ".json" and _first_char(path) == "[":
        rows = _json_array(path)
    elif suffix == ".json":
        rows = _json_object_or_lines(path)
    else:
        rows = _json_lines_file(path)
    yield from batched(rows, batch_size)


def _json_lines_file(path: Path) -> Iterator[dict]:
    with _open_text(path) as handle:
        yield from _json_lines(handle)


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
    revision: str | None = None, part: HubPart | None = None,
) -> Iterator[list[dict]]:
    """Rows of a hub data set, streamed with ``datasets.load_dataset`` at ``revision`` (never remote code);
    only those of ``part`` (one of :func:`hub_parts`) when given.

    ``split=None`` reads every split; each row then carries its split name under ``__split__``.
    A gated, missing or unreachable data set raises :class:`~bagel.sources.hub.HubUnavailable`.
    """
    loaded = _load_hub(hub_id, config, split, data_files, revision)
    splits = loaded.items() if split is None else [(split, loaded)]
    try:  # streaming: files are fetched while iterating
        for name, dataset in splits:
            if part is not None:
                dataset = (dataset.reshard() if part.row_groups else dataset).shard(part.count, part.index)
            rows = dataset if split is not None else ({**row, SPLIT: name} for row in dataset)
            yield from batched(rows, batch_size)
    except _hub_read_errors() as err:
        from bagel.sources.hub import unavailable

        raise unavailable(hub_id, revision, err) from None


def _hub_read_errors() -> tuple[type[BaseException], ...]:
    """What reading a streamed hub data set raises when its files cannot be fetched or parsed."""
    import datasets
    import httpx

    return OSError, ValueError, RuntimeError, httpx.HTTPError, datasets.exceptions.DatasetsError


def _load_hub(hub_id: str, config: str | None, split: str | None, data_files: tuple[str, ...] | None,
              revision: str | None):
    """``datasets.load_dataset`` of a hub data set, streamed (nothing read yet); errors as ``HubUnavailable``."""
    import datasets

    from bagel.sources.hub import unavailable

    kwargs = {"streaming": True, "revision": revision}
    if data_files:
        kwargs["data_files"] = list(data_files)
    try:
        return datasets.load_dataset(hub_id, config, split=split, **kwargs)
    except Exception as err:  # the hub client raises many types; all mean "could not load"
        raise unavailable(hub_id, revision, err) from None


HUB_PARTS = 32  # the most parts a hub split is read in


@dataclass(frozen=True)
class HubPart:
    """Part ``index`` of ``count`` contiguous parts of a hub split: of its data files, or with ``row_groups``
    of their parquet row groups (``IterableDataset.shard`` after ``reshard``)."""

    index: int
    count: int
    row_groups: bool


def hub_parts(hub_id: str, config: str | None, split: str, data_files: tuple[str, ...] | None,
              revision: str | None = None, most: int | None = None) -> list[HubPart]:
    """A hub split cut into at most ``most`` (:data:`HUB_PARTS`) contiguous parts that read apart, in read
    order: reading them one after the other gives the rows of :func:`read_hub`, in its order. Parts are
    groups of data files, or, with fewer files than parts, of parquet row groups (the files' footers are
    read). One part for what cannot be cut (one file of JSON, a data set that is not streamed)."""
    most = most or HUB_PARTS
    dataset = _load_hub(hub_id, config, split, data_files, revision)
    pieces = getattr(dataset, "num_shards", 1)
    row_groups = False
    if 0 < pieces < most and hasattr(dataset, "reshard"):
        try:
            more = dataset.reshard().num_shards
        except NotImplementedError:  # a format datasets cannot cut further
            more = pieces
        except _hub_read_errors() as err:
            from bagel.sources.hub import unavailable

            raise unavailable(hub_id, revision, err) from None
        row_groups, pieces = more > pieces, max(more, pieces)
    count = min(pieces, most)
    return [HubPart(index, count, row_groups) for index in range(max(count, 1))]


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


# --- shards: parts of a local input that are read (and converted) apart ---------------------------

SHARD_BYTES = 32 << 20  # file bytes per shard (parquet: compressed row groups)


@dataclass(frozen=True)
class FilePart:
    """One file of a local input, or row groups ``[start, stop)`` of a parquet file, and the name its rows
    carry under ``__file__``."""

    file: str
    name: str
    row_groups: tuple[int, int] | None = None


def _parquet_groups(file: Path) -> list[int]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(file).metadata
    return [sum(meta.row_group(g).column(c).total_compressed_size for c in range(meta.num_columns))
            for g in range(meta.num_row_groups)]


def local_shards(path: Path, shard_bytes: int | None = None) -> list[tuple[FilePart, ...]]:
    """The local input at ``path`` cut into shards of about ``shard_bytes`` (:data:`SHARD_BYTES` unless given),
    in read order: small files grouped,
    large parquet files cut between row groups (other files are never cut). Reading the shards one after the
    other gives the rows of :func:`read_local`, in its order."""
    root = Path(path)
    shard_bytes = shard_bytes or SHARD_BYTES
    shards: list[tuple[FilePart, ...]] = []
    current: list[FilePart] = []
    size = 0
    for file in local_files(root):
        name = file.name if file == root else str(file.relative_to(root))
        if file.suffix == ".parquet":
            groups = _parquet_groups(file)
            start = 0
            for g, group_bytes in enumerate(groups):
                size += group_bytes
                if size >= shard_bytes and g + 1 < len(groups):
                    shards.append((*current, FilePart(str(file), name, (start, g + 1))))
                    current, size, start = [], 0, g + 1
            current.append(FilePart(str(file), name, (start, len(groups))))
        else:
            current.append(FilePart(str(file), name))
            size += file.stat().st_size
        if size >= shard_bytes:
            shards.append(tuple(current))
            current, size = [], 0
    if current or not shards:
        shards.append(tuple(current))
    return shards


def read_shard(parts: tuple[FilePart, ...], batch_size: int = 2048) -> Iterator[list[dict]]:
    """The rows of one shard of :func:`local_shards`, in batches, each row tagged with its file name."""
    for part in parts:
        if part.row_groups is not None:
            groups = range(*part.row_groups)
            batches = (b.to_pylist() for b in iter_parquet(Path(part.file), batch_size, row_groups=groups))
        else:
            batches = _read_file(Path(part.file), batch_size)
        for batch in batches:
            for row in batch:
                row[FILE] = part.name
            yield batch
