"""Read a benchmark file into rows: JSON Lines, JSON array, CSV or parquet, optionally gzipped."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from bagel.errors import UserError

SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def _text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8-sig")


def read_rows(path: Path) -> list[dict]:
    """The rows of ``path`` as dicts; the format comes from the suffix (``.gz`` is looked through)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"benchmark file not found: {path}")
    name = path.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if name.endswith(".csv"):
        return list(csv.DictReader(io.StringIO(_text(path), newline="")))
    if name.endswith((".jsonl", ".json")):
        body = _text(path).strip()
        try:
            if body.startswith("["):
                return json.loads(body)
            return [json.loads(line) for line in body.split("\n") if line.strip()]
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: not valid JSON / JSON Lines ({err})") from None
    raise UserError(f"{path}: unknown benchmark file type (expected one of {', '.join(SUFFIXES)}, maybe .gz)")
