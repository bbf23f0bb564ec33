"""Local readers: one bad row never loses a file (encodings, big CSV cells, JSON arrays and objects)."""

import gzip
import json
import shutil
from pathlib import Path

import pytest

from bagel.sources.io import FILE, MALFORMED, read_local

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
DEMO = Path(__file__).parents[2] / "demo" / "data"  # real prefixes of real files (demo/data/LICENSES.md)
BOM = b"\xef\xbb\xbf"


def rows_of(path) -> list[dict]:
    return [row for batch in read_local(path, batch_size=7) for row in batch]


def test_json_array_with_bom_reads_every_row(tmp_path):
    source = DEMO / "dpo_en_demo.json"
    plain = json.loads(source.read_text(encoding="utf-8"))
    path = tmp_path / "pairs.json"
    path.write_bytes(BOM + source.read_bytes())
    rows = rows_of(path)
    assert [{k: v for k, v in r.items() if k != FILE} for r in rows] == plain
    assert {r[FILE] for r in rows} == {"pairs.json"}


def test_jsonl_and_csv_with_bom(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(BOM + b'{"x": 1}\n{"x": 2}\n')
    (tmp_path / "b.csv").write_bytes(BOM + b"id,text\n1,hello\n")
    assert rows_of(tmp_path / "a.jsonl") == [{"x": 1, FILE: "a.jsonl"}, {"x": 2, FILE: "a.jsonl"}]
    assert rows_of(tmp_path / "b.csv") == [{"id": "1", "text": "hello", FILE: "b.csv"}]


def test_undecodable_jsonl_line_is_one_malformed_row(tmp_path):
    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b'{"x": "caf\xc3\xa9"}\n{"x": "caf\xe9"}\n{"x": "ok"}\n')
    rows = rows_of(path)
    assert [r.get("x") for r in rows] == ["café", None, "ok"]
    assert rows[1][MALFORMED] == "encoding"


def test_undecodable_csv_row_is_one_malformed_row_rest_kept(tmp_path):
    lines = (DEMO / "emobank.csv").read_bytes().splitlines(keepends=True)[:6]
    lines[2] = lines[2].replace(b",", b",\xe9", 1)  # a latin-1 byte in row 2
    (tmp_path / "emobank.csv").write_bytes(b"".join(lines))
    rows = rows_of(tmp_path / "emobank.csv")
    assert len(rows) == 5
    assert [MALFORMED in r for r in rows] == [False, True, False, False, False]
    assert rows[1][MALFORMED] == "encoding"
    assert rows[0]["id"] == lines[1].split(b",")[0].decode()


def test_csv_cell_of_any_size(tmp_path):
    big = "x" * 300_000
    (tmp_path / "big.csv").write_text(f'id,split,V,A,D,text\nb1,train,3,3,3,"{big}"\n', encoding="utf-8")
    assert rows_of(tmp_path / "big.csv")[0]["text"] == big


def test_json_array_is_streamed_rows_before_a_broken_tail_are_kept(tmp_path):
    items = [{"i": i} for i in range(20)]
    text = json.dumps(items)
    (tmp_path / "cut.json").write_text(text[: text.index('{"i": 15}') + 5])  # cut inside item 15
    rows = rows_of(tmp_path / "cut.json")
    assert [r["i"] for r in rows[:-1]] == list(range(15))
    assert rows[-1][MALFORMED] == "invalid_json"


def test_json_array_non_object_item_and_undecodable_item(tmp_path):
    (tmp_path / "a.json").write_bytes(b'[{"a": 1}, 5, {"a": "caf\xe9"}, {"a": 1.5}]')
    rows = rows_of(tmp_path / "a.json")
    assert [r.get(MALFORMED, r.get("a")) for r in rows] == [1, "row_not_object", "encoding", 1.5]


def test_json_file_holding_one_object_is_one_row(tmp_path):
    task = FIXTURES / "natural_instructions_tasks" / "task1149_item_check_edible.json"  # pretty-printed, has NaN
    rows = rows_of(task)
    assert len(rows) == 1
    assert len(rows[0]["Instances"]) == 119
    assert rows[0][FILE] == "task1149_item_check_edible.json"
    shutil.copy(task, tmp_path / "t.json")
    (tmp_path / "t.json").write_bytes(BOM + (tmp_path / "t.json").read_bytes())
    assert rows_of(tmp_path / "t.json")[0]["Definition"] == rows[0]["Definition"]


def test_one_line_json_objects_stay_json_lines(tmp_path):
    (tmp_path / "l.json").write_text('{"x": 1}\nnot json\n{"x": 3}\n')
    assert [r.get("x", r.get(MALFORMED)) for r in rows_of(tmp_path / "l.json")] == [1, "invalid_json", 3]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_empty_file_has_no_rows(tmp_path, suffix):
    (tmp_path / f"e{suffix}").write_text("\n")
    assert rows_of(tmp_path / f"e{suffix}") == []


def test_json_array_with_nan_python_wrote_reads_every_row(tmp_path):
    (tmp_path / "nan.json").write_text(json.dumps([{"a": 1}, {"a": float("nan")}, {"a": 3}]))
    rows = rows_of(tmp_path / "nan.json")
    assert [r["a"] for r in rows][::2] == [1, 3]
    assert rows[1]["a"] != rows[1]["a"]  # NaN
