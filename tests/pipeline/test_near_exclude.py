"""The dedup step's near-duplicate pass and exclude sets, end to end on hand-written sources."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from bagel.config import load_recipe
from bagel.errors import UserError
from bagel.pipeline.build import run_build
from bagel.records import make_id
from tests.pipeline.helpers import qa, write_jsonl, write_recipe

# the first GSM8K train questions (MIT; tests/fixtures/dedup/README.md)
Q1 = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
      "How many clips did Natalia sell altogether in April and May?")
Q2 = ("Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. "
      "How much did she earn?")
Q3 = ("Betty is saving money for a new wallet which costs $100. Betty has only half of the money she needs. "
      "Her parents decided to give her $15 for that purpose, and her grandparents twice as much as her parents.")
Q4 = ("Julie is reading a 120-page book. Yesterday, she was able to read 12 pages and today, she read twice as "
      "many pages as yesterday. If she wants to read half of the remaining pages tomorrow, how many pages?")
NEAR = {"dedup": {"near": {"enabled": True, "threshold": 0.8, "num_perm": 128, "ngram": 5}}}


def _src(name, conf, **kw):
    return {"name": name, "shape": "instruction", "path": f"data/{name}.jsonl", "confidence": conf, **kw}


@pytest.fixture
def data(tmp_path):
    write_jsonl(tmp_path / "data" / "trusted.jsonl", [qa(Q1, "a1"), qa(Q2, "a2")])
    write_jsonl(tmp_path / "data" / "web.jsonl", [
        qa(Q1.upper().replace(",", ""), "b1"),  # near copy of trusted's Q1
        qa(Q2.replace("she just did", "she did"), "b2"),  # near copy of trusted's Q2
        qa(Q3, "b3"), qa(Q3 + " ", "b3 again"),  # near copy within the source (first kept)
        qa(Q4, "b4"),
    ])
    return tmp_path


def _ids(path, source):
    rows = pq.read_table(path, columns=["id", "source"]).to_pylist()
    return sorted(r["id"] for r in rows if r["source"] == source)


def test_near_copies_dropped_from_the_less_trusted_source(data):
    recipe = write_recipe(data / "r.yaml", [_src("trusted", 3), _src("web", 1)], **NEAR)
    report = run_build(load_recipe(recipe), data / "out")
    assert report["sources"]["web"]["steps"]["dedup"]["dropped"] == {"near_duplicate": 3}
    assert report["sources"]["trusted"]["steps"]["dedup"]["dropped"] == {}
    assert _ids(data / "out" / "records.parquet", "web") == sorted([make_id(Q3), make_id(Q4)])
    lines = [json.loads(line) for line in (data / "out" / "near_duplicates.jsonl").read_text().splitlines()]
    assert lines == [
        {"id": make_id(Q1.upper().replace(",", "")), "near_id": make_id(Q1), "near_source": "trusted",
         "reason": "near_duplicate", "source": "web"},
        {"id": make_id(Q2.replace("she just did", "she did")), "near_id": make_id(Q2),
         "near_source": "trusted", "reason": "near_duplicate", "source": "web"},
        {"id": make_id(Q3 + " "), "near_id": make_id(Q3), "near_source": "web", "reason": "near_duplicate",
         "source": "web"},
    ]
    assert report["near_duplicates"] == {"removed": 3, "by_source": {"web": {"trusted": 2, "web": 1}}}


def test_near_dedup_off_keeps_near_copies(data):
    recipe = write_recipe(data / "r.yaml", [_src("trusted", 3), _src("web", 1)])
    report = run_build(load_recipe(recipe), data / "out")
    assert report["sources"]["web"]["steps"]["dedup"]["dropped"] == {}
    assert report["near_duplicates"] is None and not (data / "out" / "near_duplicates.jsonl").exists()


def test_exclude_a_previous_build_by_id_and_near_copy(data):
    write_jsonl(data / "data" / "old.jsonl", [qa(Q4, "old answer"), qa(Q3.replace("Betty", "Bettie"), "old")])
    first = write_recipe(data / "v1.yaml", [_src("old", 1)])
    run_build(load_recipe(first), data / "v1")
    exclude = [{"name": "v1", "path": "v1/records.parquet"}]
    recipe = write_recipe(data / "r.yaml", [_src("trusted", 3), _src("web", 1)], exclude=exclude, **NEAR)
    report = run_build(load_recipe(recipe), data / "out")
    # Q4 by id; Q3 ("Betty" -> "Bettie" in v1) by near copy; Q3's second copy is a near copy of that too
    assert report["sources"]["web"]["steps"]["dedup"]["dropped"] == {"excluded:v1": 3, "near_duplicate": 2}
    assert _ids(data / "out" / "records.parquet", "web") == []
    by_id = {r["id"]: r for r in map(json.loads, (data / "out" / "near_duplicates.jsonl").read_text().splitlines())}
    assert by_id[make_id(Q3)] == {"id": make_id(Q3), "near_id": make_id(Q3.replace("Betty", "Bettie")),
                                  "near_source": "v1", "reason": "excluded", "source": "web"}
    # without near dedup, only the id match is excluded
    plain = write_recipe(data / "p.yaml", [_src("trusted", 3), _src("web", 1)], exclude=exclude)
    report = run_build(load_recipe(plain), data / "plain")
    assert report["sources"]["web"]["steps"]["dedup"]["dropped"] == {"excluded:v1": 1}


def test_exclude_any_file_with_shape_and_columns(data):
    write_jsonl(data / "data" / "held.jsonl", [{"q": Q1, "a": "x"}])
    exclude = [{"name": "held", "path": "data/held.jsonl", "shape": "instruction",
                "columns": {"instruction": "q", "output": "a"}}]
    recipe = write_recipe(data / "r.yaml", [_src("trusted", 3)], exclude=exclude)
    report = run_build(load_recipe(recipe), data / "out")
    assert report["sources"]["trusted"]["steps"]["dedup"]["dropped"] == {"excluded:held": 1}


def test_exclude_errors(data):
    with pytest.raises(UserError, match="file not found"):
        load_recipe(write_recipe(data / "r.yaml", [_src("trusted", 3)], exclude=[{"name": "x", "path": "nope"}]))
    recipe = write_recipe(data / "r.yaml", [_src("trusted", 3)], exclude=[{"name": "x", "path": "data/web.jsonl"}])
    with pytest.raises(UserError, match="not a parquet file"):
        run_build(load_recipe(recipe), data / "out")


def test_a_source_can_opt_out_of_near_dedup(data):
    recipe = write_recipe(data / "r.yaml", [_src("trusted", 3), _src("web", 1, near_dedup=False)], **NEAR)
    report = run_build(load_recipe(recipe), data / "out")
    assert report["sources"]["web"]["steps"]["dedup"]["dropped"] == {}
    assert report["near_duplicates"] == {"removed": 0, "by_source": {}}


def test_rows_exact_dedup_drops_take_no_part_in_the_near_pass(tmp_path):
    # the near pass signs every row while exact dedup runs; the exact copy must still count once, as a duplicate
    write_jsonl(tmp_path / "data" / "trusted.jsonl", [qa(Q1, "a1")])
    write_jsonl(tmp_path / "data" / "web.jsonl", [qa(Q1, "again"), qa(Q1.replace("Natalia", "Natalie"), "b1"),
                                                  qa(Q2, "b2"), qa(Q2, "b2 again")])
    recipe = write_recipe(tmp_path / "r.yaml", [_src("trusted", 3), _src("web", 1)], **NEAR)
    report = run_build(load_recipe(recipe), tmp_path / "out")
    assert report["sources"]["web"]["steps"]["dedup"]["dropped"] == {"duplicate": 2, "near_duplicate": 1}
    lines = [json.loads(line) for line in (tmp_path / "out" / "near_duplicates.jsonl").read_text().splitlines()]
    assert lines == [{"id": make_id(Q1.replace("Natalia", "Natalie")), "near_id": make_id(Q1),
                      "near_source": "trusted", "reason": "near_duplicate", "source": "web"}]
    assert _ids(tmp_path / "out" / "records.parquet", "web") == [make_id(Q2)]
