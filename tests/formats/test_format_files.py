"""Reading JSON Lines records for ``bagel format``: Arrow's block parser only where it gives what line-by-line
``json.loads`` gives, the line-by-line path everywhere else, and batches of BATCH_SIZE records either way."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from typer.testing import CliRunner

from bagel.cli import app
from bagel.errors import UserError
from bagel.formats import files
from bagel.formats.files import _arrow_block, read_records
from bagel.records import record, to_table

GOOD = json.dumps(record("sft", id="a", source="s", confidence=2, conversations=[{"from": "human", "value": "hé"}]))
OTHER = json.dumps(record("text", id="b", source="s", text="words\n\n\nmore"))


def line_by_line(data: bytes) -> tuple[list[dict], Counter]:
    """What the reader gave before Arrow parsed blocks: text lines (universal newlines), json.loads each
    non-blank one, invalid ones counted, the rest through ``to_table`` (whose errors are a UserError)."""
    rows, dropped = [], Counter()
    for line in data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            dropped["malformed:invalid_json"] += 1
    try:
        return to_table(rows).to_pylist(), dropped
    except Exception as err:  # noqa: BLE001 - whichever error, the reader must turn it into a UserError
        return type(err).__name__, dropped


def read(tmp_path, data: bytes) -> tuple[list[dict] | str, Counter]:
    path = tmp_path / "records.jsonl"
    path.write_bytes(data)
    dropped = Counter()
    try:
        rows = [row for batch in read_records(path, dropped) for row in batch.to_pylist()]
    except UserError:
        return "UserError", dropped
    return rows, dropped


# Inputs on which Arrow's reader, left alone, reads something else than line-by-line json.loads (or crashes).
ARROW_DIFFERS = {
    "null first line (pyarrow 26 segfaults)": b"null\n" + GOOD.encode() + b"\n",
    "two objects on a line": (GOOD + " " + OTHER + "\n").encode(),
    "an object across lines": b'{"id":\n"a"}\n',
    "lone carriage return": b'{"id": "a",\r"kind": "text"}\n',
    "byte order mark": b"\xef\xbb\xbf" + GOOD.encode() + b"\n",
    "invalid utf-8 in an ignored field": b'{"id": "a", "extra": "\xff"}\n',
}
# Inputs Arrow refuses (a fallback to the line-by-line path, which decides).
ARROW_REFUSES = {
    "duplicate key": b'{"id": "a", "id": "b"}\n',
    "float confidence": b'{"id": "a", "confidence": 2.0}\n',
    "number for a string": b'{"id": 5}\n',
    "confidence out of range": b'{"id": "a", "confidence": 300}\n',
    "lone surrogate": b'{"id": "\\ud800"}\n',
    "control character in a string": b'{"id": "a\tb"}\n',
    "a list line": b"[1]\n",
    "invalid json among valid": (GOOD + "\n{not json\n" + OTHER + "\n").encode(),
}
# Inputs Arrow reads as the line-by-line path does.
ARROW_AGREES = {
    "records": (GOOD + "\n" + OTHER + "\n").encode(),
    "blank lines, spaces, CRLF, no final newline": ("\n  \n" + GOOD + "  \r\n\t" + OTHER).encode(),
    "unknown fields and turn keys": b'{"id": "a", "weight": [1, "x"], "conversations": [{"from": "human", "w": 1}]}\n',
    "escaped key": b'{"i\\u0064": "a", "kind": "text"}\n',
    "nulls and an empty object": b'{"id": null, "conversations": [null]}\n{}\n',
    "role/content turns": b'{"id": "a", "conversations": [{"role": "user", "content": "x"}]}\n',
}


@pytest.mark.parametrize("data", ARROW_DIFFERS.values(), ids=ARROW_DIFFERS.keys())
def test_arrow_is_not_used_where_it_reads_otherwise(data):
    assert _arrow_block(data) is None


@pytest.mark.parametrize("data", ARROW_AGREES.values(), ids=ARROW_AGREES.keys())
def test_arrow_is_used_where_it_agrees(data):
    table = _arrow_block(data)
    assert table is not None and table.to_pylist() == line_by_line(data)[0]


@pytest.mark.parametrize("data", [*ARROW_DIFFERS.values(), *ARROW_REFUSES.values(), *ARROW_AGREES.values()],
                         ids=[*ARROW_DIFFERS, *ARROW_REFUSES, *ARROW_AGREES])
def test_reader_gives_what_line_by_line_json_gives(tmp_path, data):
    if b"\xff" in data:  # the line-by-line reader raised UnicodeDecodeError; now the line is counted
        assert read(tmp_path, data) == ([], Counter({"malformed:invalid_json": 1}))
        return
    expected_rows, expected_dropped = line_by_line(data)
    rows, dropped = read(tmp_path, data)
    assert rows == (expected_rows if isinstance(expected_rows, list) else "UserError")
    assert dropped == expected_dropped


def test_batches_hold_batch_size_records_across_blocks_and_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "BATCH_SIZE", 3)
    monkeypatch.setattr(files, "BLOCK_BYTES", 2 * len(GOOD))  # about two lines a block
    lines = [json.dumps(record("text", id=str(i), text=f"t{i}")) for i in range(10)]
    lines[4] = "{not json"  # that block goes the line-by-line way
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n")
    dropped = Counter()
    batches = list(read_records(path, dropped, files.BATCH_SIZE))
    assert [b.num_rows for b in batches] == [3, 3, 3]
    assert [r["id"] for b in batches for r in b.to_pylist()] == [str(i) for i in range(10) if i != 4]
    assert dropped == Counter({"malformed:invalid_json": 1})


def test_a_line_longer_than_a_block_is_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "BLOCK_BYTES", 16)
    path = tmp_path / "records.jsonl"
    path.write_text(GOOD + "\n" + OTHER + "\n")
    assert [r for b in read_records(path, Counter()) for r in b.to_pylist()] == line_by_line(path.read_bytes())[0]


def test_records_that_are_not_unified_records_are_a_user_error_with_their_lines(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(GOOD + '\n{"id": "a", "confidence": "high"}\n')
    with pytest.raises(UserError, match=r"records.jsonl: lines 1-2 are not unified records"):
        list(read_records(path, Counter()))


def test_format_imports_no_pandas(tmp_path):
    """pyarrow imports pandas (0.4 s, 40 MB) on ``pa.array`` and ``Array.to_numpy``; the format path avoids both."""
    path = tmp_path / "records.jsonl"
    path.write_text(GOOD + "\n" + OTHER + "\n")
    code = (
        "import sys; from pathlib import Path; from bagel.formats.files import format_file;"
        "from bagel.formats.options import FormatOptions;"
        f"format_file(Path({str(path)!r}), Path({str(tmp_path / 'out')!r}), FormatOptions(mode='random'), 1);"
        "assert 'pandas' not in sys.modules, 'pandas imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_format_reports_a_bad_record_met_on_the_reading_thread(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(GOOD + '\n{"id": "a", "confidence": "high"}\n')
    result = CliRunner().invoke(app, ["-q", "format", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}: lines 1-2 are not unified records")
    assert not (tmp_path / "out" / "sft.parquet").exists()
