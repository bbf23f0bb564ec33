"""The build end to end on hand-written sources: priority dedup, refusal counts, malformed rows,
determinism, caching."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from bagel.config import load_recipe
from bagel.pipeline import steps
from bagel.pipeline.build import run_build
from bagel.records import make_id
from tests.pipeline.helpers import qa, write_jsonl, write_recipe


@pytest.fixture
def recipe_path(tmp_path):
    data = tmp_path / "data"
    write_jsonl(data / "alpha.jsonl", [
        qa("q1", "a1 from alpha"),
        qa("q2", "a2"),
        qa("q3", "As an AI language model, I cannot do that."),
        qa("q6", "Please note that this is fine."),
        {"instruction": "q7"},  # no output
    ])
    write_jsonl(data / "beta.jsonl", [qa("q1", "a1 from beta"), qa("q4", "a4")])
    write_jsonl(data / "gamma.jsonl", [qa("q2", "a2 from gamma"), qa("q5", "a5"), qa("q5", "a5 again")])
    write_jsonl(data / "chats.jsonl", [
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        {"conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]},
        {"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "  "}]},
        {"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "y"}, {"from": "human", "value": "z"}]},
        {"conversations": "not a list"},
        {"turns": []},
        "{broken json",
        {"conversations": [{"from": "human", "value": 3}, {"from": "gpt", "value": "y"}]},
    ])
    def src(name, conf, **kw):
        return {"name": name, "shape": kw.pop("shape", "instruction"), "path": f"data/{name}.jsonl",
                "confidence": conf, **kw}
    return write_recipe(tmp_path / "t.yaml", [
        src("gamma", 1),
        src("beta", 3),
        src("alpha", 3, refusal="responses"),
        src("chats", 2, shape="sharegpt"),
    ], format={"mode": "random", "formats": ["alpaca"]})


def _ids(path, source=None):
    table = pq.read_table(path)
    rows = table.to_pylist()
    return sorted(r["id"] for r in rows if source is None or r["source"] == source)


@pytest.mark.parametrize("id_batch_rows", [65536, 1])  # ids streamed in batches: same answer as all at once
def test_priority_dedup_tiebreak_and_counts(recipe_path, tmp_path, monkeypatch, id_batch_rows):
    monkeypatch.setattr(steps, "ID_BATCH_ROWS", id_batch_rows)
    report = run_build(load_recipe(recipe_path), tmp_path / "out")
    sources = report["sources"]
    # load order: confidence desc, then name: alpha, beta (both 3), chats (2), gamma (1)
    assert list(sources) == ["alpha", "beta", "chats", "gamma"]
    assert sources["alpha"]["steps"]["convert"] == {
        "in": 5, "kept": 2, "cached": False, "seconds": sources["alpha"]["steps"]["convert"]["seconds"],
        "dropped": {"malformed:missing_field:output": 1, "refusal:language model": 1, "refusal:please note that": 1},
        "examples": {"malformed:missing_field:output": {"file": "alpha.jsonl", "row": '{"instruction": "q7"}'}},
    }
    assert sources["beta"]["steps"]["dedup"]["dropped"] == {"duplicate": 1}  # q1 kept from alpha (name tie-break)
    assert sources["gamma"]["steps"]["dedup"]["dropped"] == {"duplicate": 2}  # q2 (alpha) and the second q5
    out = tmp_path / "out"
    assert _ids(out / "records.parquet", "alpha") == sorted([make_id("q1"), make_id("q2")])
    assert _ids(out / "records.parquet", "beta") == [make_id("q4")]
    assert _ids(out / "records.parquet", "gamma") == [make_id("q5")]
    rows = {r["id"]: r for r in pq.read_table(out / "records.parquet").to_pylist()}
    assert rows[make_id("q1")]["conversations"][1]["value"] == "a1 from alpha"
    assert report["outputs"] == {"records": 5, "sft": 5, "dpo": 0}


def test_every_malformed_reason_counted(recipe_path, tmp_path):
    report = run_build(load_recipe(recipe_path), tmp_path / "out")
    convert = report["sources"]["chats"]["steps"]["convert"]
    assert convert["in"] == 8
    assert convert["kept"] == 1
    assert convert["dropped"] == {
        "malformed:conversations_not_list": 1,
        "malformed:does_not_end_with_gpt": 1,
        "malformed:empty_turn": 1,
        "malformed:invalid_json": 1,
        "malformed:missing_field:conversations": 1,
        "malformed:roles_do_not_alternate": 1,
        "malformed:turn_value_not_string": 1,
    }


def test_rebuild_is_byte_identical_and_cached(recipe_path, tmp_path):
    first = run_build(load_recipe(recipe_path), tmp_path / "a")
    second = run_build(load_recipe(recipe_path), tmp_path / "b")
    for name in ("records.parquet", "sft.parquet", "dpo.parquet", "decontamination.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    again = run_build(load_recipe(recipe_path), tmp_path / "a")
    assert not any(s["cached"] for src in first["sources"].values() for s in src["steps"].values())
    assert all(s["cached"] for src in again["sources"].values() for s in src["steps"].values())
    assert again["outputs"] == second["outputs"]


def test_changing_one_source_recomputes_only_its_dependents(recipe_path, tmp_path):
    run_build(load_recipe(recipe_path), tmp_path / "out")
    text = recipe_path.read_text().replace("name: gamma\n  shape: instruction", "name: gamma\n  shape: instruction\n  sample: 1")
    recipe_path.write_text(text)
    report = run_build(load_recipe(recipe_path), tmp_path / "out")
    cached = {name: {step: s["cached"] for step, s in src["steps"].items()} for name, src in report["sources"].items()}
    assert all(cached["alpha"].values()) and all(cached["beta"].values()) and all(cached["chats"].values())
    assert cached["gamma"]["convert"] is True
    assert cached["gamma"]["sample"] is False
    assert report["sources"]["gamma"]["steps"]["sample"]["dropped"] == {"sampled_out": 2}


def test_seed_changes_the_sample(tmp_path):
    rows = [qa(f"question {i}", f"answer {i}") for i in range(40)]
    write_jsonl(tmp_path / "data" / "many.jsonl", rows)
    src = [{"name": "many", "shape": "instruction", "path": "data/many.jsonl", "sample": 10}]
    picks = []
    for seed in (1, 1, 2):
        path = write_recipe(tmp_path / f"s{seed}.yaml", src, seed=seed)
        run_build(load_recipe(path), tmp_path / f"out{seed}")
        picks.append(_ids(tmp_path / f"out{seed}" / "records.parquet"))
    assert len(picks[0]) == 10
    assert picks[0] == picks[1]
    assert picks[0] != picks[2]


def test_report_json_written(recipe_path, tmp_path):
    run_build(load_recipe(recipe_path), tmp_path / "out")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["steps"]["dedup"]["dropped"] == {"duplicate": 3}
    assert report["format"]["mode"] == "random"


def test_two_workers_give_the_same_bytes_as_one(recipe_path, tmp_path):
    run_build(load_recipe(recipe_path), tmp_path / "one", workers=1)
    run_build(load_recipe(recipe_path), tmp_path / "two", workers=2)
    for name in ("records.parquet", "sft.parquet", "dpo.parquet", "decontamination.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
