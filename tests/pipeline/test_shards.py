"""Sharded sources: a local input cut into shards (files, parquet row groups) converts shard by shard,
in parallel, into the same records, ids, counts and output bytes as one stream; a per-source converter
is never cut."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bagel.config import load_recipe
from bagel.pipeline import cache, tasks
from bagel.pipeline.build import run_build
from bagel.pipeline.convert import convert_shards
from bagel.sources import get_source, io
from bagel.tokens import TokenCounter
from tests.fakehub import ERRORS, FakeHub
from tests.pipeline.helpers import qa, token_summary, write_jsonl, write_recipe

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from synth import records as synth_records  # noqa: E402

OUTPUTS = ("records.parquet", "sft.parquet", "dpo.parquet", "decontamination.jsonl")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A parquet file of 12 row groups and a directory of three JSON Lines files (one broken line, repeats)."""
    tmp = tmp_path_factory.mktemp("shards")
    pq.write_table(pa.Table.from_pylist(synth_records(3000, seed=5)), tmp / "big.parquet", row_group_size=250)
    write_jsonl(tmp / "many" / "a.jsonl", [qa(f"q{i}", f"a{i}") for i in range(40)] + ["{broken"])
    write_jsonl(tmp / "many" / "b.jsonl", [qa(f"q{i}", f"again {i}") for i in range(30, 60)] + [{"instruction": "x"}])
    write_jsonl(tmp / "many" / "c.jsonl", [qa(f"r{i}", f"b{i}") for i in range(25)] + ["{also broken"])
    return tmp


def test_shards_cut_parquet_row_groups_and_group_files_and_read_the_same_rows(inputs):
    parquet = io.local_shards(inputs / "big.parquet", shard_bytes=1)
    assert [part.row_groups for shard in parquet for part in shard] == [(g, g + 1) for g in range(11)] + [(11, 12)]
    assert io.local_shards(inputs / "big.parquet") == [(io.FilePart(str(inputs / "big.parquet"), "big.parquet", (0, 12)),)]
    files = io.local_shards(inputs / "many", shard_bytes=1)
    assert [[p.name for p in shard] for shard in files] == [["a.jsonl"], ["b.jsonl"], ["c.jsonl"]]
    assert [[p.name for p in shard] for shard in io.local_shards(inputs / "many")] == [["a.jsonl", "b.jsonl", "c.jsonl"]]
    for path, shards in ((inputs / "big.parquet", parquet), (inputs / "many", files)):
        whole = [row for batch in io.read_local(path, 100) for row in batch]
        assert [row for shard in shards for batch in io.read_shard(shard, 100) for row in batch] == whole


def test_a_per_source_converter_is_one_shard(inputs, tmp_path, monkeypatch):
    class Cfg:
        path = inputs / "many"

    assert convert_shards(Cfg(), get_source("airoboros")) == [None]  # convert_rows: rows seen together
    assert len(convert_shards(Cfg(), get_source("python_alpaca"))) == 1
    Cfg.path = None
    FakeHub(monkeypatch)  # a hub data set that cannot be cut (not a streamed one): one stream
    assert convert_shards(Cfg(), get_source("python_alpaca")) == [None]
    assert convert_shards(Cfg(), get_source("emobank")) == [None]  # its own fetch


def _counts(report: dict, *sources: str) -> dict:
    """Each source's step results in ``report`` but their timings."""
    return {source: {step: {k: v for k, v in counts.items() if k != "seconds"}
                     for step, counts in report["sources"][source]["steps"].items()} for source in sources}


def _build(inputs: Path, out: Path, mode: str = "random", **kwargs) -> dict:
    recipe = write_recipe(out.parent / f"{out.name}.yaml", [
        {"name": "big", "shape": "records", "path": str(inputs / "big.parquet"), "confidence": 3},
        {"name": "many", "shape": "instruction", "path": str(inputs / "many"), "confidence": 2},
    ], format={"mode": mode}, decontamination={"preset": "ngram"})
    return run_build(load_recipe(recipe), out, **kwargs)


@pytest.fixture(scope="module")
def one_stream(inputs, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("whole") / "out"
    return _build(inputs, out), out


def test_sharded_build_equals_one_stream(inputs, one_stream, tmp_path, monkeypatch):
    monkeypatch.setattr(io, "SHARD_BYTES", 1)  # every row group and every file its own shard
    report = _build(inputs, tmp_path / "out", workers=2)
    whole, whole_out = one_stream
    assert len(list((tmp_path / "out" / "cache" / "convert" / "shards").glob("big.*.parquet"))) == 12
    assert len(list((whole_out / "cache" / "convert" / "shards").glob("big.*.parquet"))) == 1
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (whole_out / name).read_bytes(), name
    assert _counts(report, "big", "many") == _counts(whole, "big", "many")
    convert = report["sources"]["many"]["steps"]["convert"]
    assert convert["dropped"] == {"malformed:invalid_json": 2, "malformed:missing_field:output": 1}
    assert convert["examples"]["malformed:invalid_json"] == {"file": "a.jsonl", "row": "{broken"}
    assert json.loads((tmp_path / "out" / "report.json").read_text())["outputs"]["records"] == whole["outputs"]["records"]


# --- decontam and render per shard (row groups of the trimmed / mixed rows) -------------------------


def test_row_group_ranges_cover_every_group_in_order(tmp_path):
    pq.write_table(pa.table({"id": [str(i) for i in range(10)]}), tmp_path / "t.parquet", row_group_size=3)
    assert cache.row_group_ranges(tmp_path / "t.parquet", 5) == [(0, 2), (2, 4)]  # 6 rows, then 4
    assert cache.row_group_ranges(tmp_path / "t.parquet", 100) == [(0, 4)]
    pq.write_table(pa.table({"id": pa.array([], pa.string())}), tmp_path / "e.parquet")
    assert cache.row_group_ranges(tmp_path / "e.parquet", 5) == [(0, 1)]  # no rows: one (empty) shard
    ranges = cache.row_group_ranges(tmp_path / "t.parquet", 4)
    rows = [r for groups in ranges for b in cache.read_batches(tmp_path / "t.parquet", row_groups=groups)
            for r in b.column(0).to_pylist()]
    assert rows == [str(i) for i in range(10)]


@pytest.mark.parametrize("mode", ["slices", "random"])
def test_per_shard_decontam_and_render_equal_one_shard(inputs, tmp_path, monkeypatch, mode):
    monkeypatch.setattr(cache, "ROW_GROUP_SIZE", 250)  # cached files of 250-row groups (one process: workers=1)
    whole = _build(inputs, tmp_path / "whole", mode=mode)
    monkeypatch.setattr(tasks, "SHARD_ROWS", 500)
    sharded = _build(inputs, tmp_path / "sharded", mode=mode)
    shards = tmp_path / "sharded" / "cache"
    assert len(list((shards / "decontam" / "shards").glob("big.shard*.parquet"))) == 6
    assert len(list((shards / "render" / "shards").glob("big.shard*.sft-*.parquet"))) == 6
    assert len(list((tmp_path / "whole" / "cache" / "decontam" / "shards").glob("big.shard*.parquet"))) == 1
    for name in OUTPUTS:
        assert (tmp_path / "sharded" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert _counts(sharded, "big", "many") == _counts(whole, "big", "many")
    assert sharded["decontamination"]["removed"] == whole["decontamination"]["removed"]
    # lengths counted per render shard and merged = counted over the written files (whose rows carry the
    # synthetic records' own source names, so per source only the rows add up)
    read_back = token_summary(tmp_path / "whole", list(whole["sources"]), TokenCounter(None),
                              whole["tokens"]["max_seq_length"])
    assert sharded["tokens"] == whole["tokens"]
    for by in ("by_format", "by_kind"):
        assert whole["tokens"][by] == read_back[by]
    assert sorted(whole["tokens"]["by_source"]) == ["big", "many"]
    assert sum(s["rows"] for s in whole["tokens"]["by_source"].values()) == sum(
        s["rows"] for s in read_back["by_source"].values()) == whole["outputs"]["sft"] + whole["outputs"]["dpo"]


def test_drop_source_above_counts_the_coverage_of_every_shard(tmp_path, monkeypatch):
    gsm8k = ROOT / "tests" / "fixtures" / "benchmarks" / "gsm8k_test.jsonl"
    items = [json.loads(line)["question"] for line in gsm8k.read_text().splitlines()]
    write_jsonl(tmp_path / "leaky.jsonl", [qa(items[0], "18"), qa("Write a haiku about rain.", "..."),
                                           qa("Name three primes.", "2, 3, 5"), qa(items[1], "3"),
                                           qa("Tell me about owls.", "..."), qa("Why is the sky blue?", "..")])
    recipe = write_recipe(tmp_path / "r.yaml", [{"name": "leaky", "shape": "instruction", "path": "leaky.jsonl",
                                                 "confidence": 3}],
                          decontamination={"preset": "ngram", "benchmarks": [f"gsm8k={gsm8k}"],
                                           "drop_source_above": 1.5 / len(items)},  # 2 items found: above it
                          format={"mode": "random", "formats": ["alpaca"]})
    monkeypatch.setattr(cache, "ROW_GROUP_SIZE", 2)
    monkeypatch.setattr(tasks, "SHARD_ROWS", 2)  # three shards, one leaked item in each of the first two
    report = run_build(load_recipe(recipe), tmp_path / "out")
    assert len(list((tmp_path / "out" / "cache" / "decontam" / "shards").glob("leaky.shard*.parquet"))) == 3
    assert report["sources"]["leaky"]["steps"]["decontam"]["dropped"] == {"contaminated:gsm8k": 2,
                                                                          "source_over_coverage": 4}
    assert report["decontamination"]["dropped_sources"] == {"leaky": 4}
    assert pq.read_table(tmp_path / "out" / "records.parquet").num_rows == 0


# --- hub splits read in parts (files, then parquet row groups), through a fake hub ----------------

BOOLQ = "google/boolq"


@pytest.fixture(scope="module")
def boolq_files(tmp_path_factory) -> list[Path]:
    """boolq's split as two parquet files of 3 row groups each (fixture rows, each question made unique)."""
    tmp = tmp_path_factory.mktemp("hub")
    rows = pq.read_table(ROOT / "tests" / "fixtures" / "sources" / "boolq.parquet").to_pylist()
    files = []
    for f in range(2):
        table = pa.Table.from_pylist([{**rows[i % len(rows)], "question": f"{rows[i % len(rows)]['question']} {f}.{i}"}
                                      for i in range(30)])
        pq.write_table(table, tmp / f"train-{f}.parquet", row_group_size=10)
        files.append(tmp / f"train-{f}.parquet")
    return files


def test_hub_parts_cut_files_then_row_groups_and_read_the_same_rows(boolq_files, monkeypatch):
    FakeHub(monkeypatch, parquet={BOOLQ: boolq_files})
    whole = [row for batch in io.read_hub(BOOLQ, None, "train", None, 7) for row in batch]
    assert len(whole) == 60
    parts = io.hub_parts(BOOLQ, None, "train", None)
    assert parts == [io.HubPart(i, 6, True) for i in range(6)]  # 2 files < 32 parts: cut at row groups
    assert io.hub_parts(BOOLQ, None, "train", None, most=2) == [io.HubPart(i, 2, False) for i in range(2)]
    assert io.hub_parts(BOOLQ, None, "train", None, most=4) == [io.HubPart(i, 4, True) for i in range(4)]
    for most in (2, 4, 32):
        got = [row for part in io.hub_parts(BOOLQ, None, "train", None, most=most)
               for batch in io.read_hub(BOOLQ, None, "train", None, 7, part=part) for row in batch]
        assert got == whole, most


def _hub_build(out: Path) -> dict:
    recipe = write_recipe(out.parent / f"{out.name}.yaml", [{"name": "boolq"}], format={"mode": "random"})
    return run_build(load_recipe(recipe), out)


def test_sharded_hub_source_builds_the_same_records_as_one_stream(boolq_files, tmp_path, monkeypatch):
    hub = FakeHub(monkeypatch, parquet={BOOLQ: boolq_files})
    sharded = _hub_build(tmp_path / "sharded")
    assert len(list((tmp_path / "sharded" / "cache" / "convert" / "shards").glob("boolq.shard*.parquet"))) == 6
    assert len(hub.loads) == 1 + 6  # the plan, then one read per part
    monkeypatch.setattr(io, "HUB_PARTS", 1)
    whole = _hub_build(tmp_path / "whole")
    assert not (tmp_path / "whole" / "cache" / "convert" / "shards").exists()
    for name in OUTPUTS:
        assert (tmp_path / "sharded" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert _counts(sharded, "boolq") == _counts(whole, "boolq")
    convert = _counts(sharded, "boolq")["boolq"]["convert"]
    assert (convert["in"], convert["kept"], convert["dropped"]) == (60, 40, {"malformed:wrong_type": 20})
    assert len(set(pq.read_table(tmp_path / "whole" / "records.parquet").column("id").to_pylist())) == 40


def test_a_converted_hub_source_rebuilds_without_the_hub(boolq_files, tmp_path, monkeypatch):
    FakeHub(monkeypatch, parquet={BOOLQ: boolq_files})
    first = _hub_build(tmp_path / "out")
    hub = FakeHub(monkeypatch, errors={BOOLQ: ERRORS["offline"](BOOLQ)})
    again = _hub_build(tmp_path / "out")
    assert hub.loads == [] and again["sources"]["boolq"]["steps"]["convert"]["cached"] is True
    assert again["outputs"] == first["outputs"]


def test_concatenated_bytes_do_not_depend_on_how_a_source_was_cut(tmp_path):
    # long texts: several data pages per column chunk, where a writer's bytes depend on the chunking
    rows = pa.Table.from_pylist([{"id": r["id"], "text": (r["text"] or r["id"]) * 40}
                                 for r in synth_records(9000, seed=3)])
    first, second = rows.slice(0, 6000), rows.slice(6000)

    def files(table, cuts, name):
        bounds = [0, *cuts, table.num_rows]
        return [tmp_path / f"{name}{i}.parquet" for i in range(len(bounds) - 1)
                if cache.write_parquet(tmp_path / f"{name}{i}.parquet", table.schema,
                                       [table.slice(bounds[i], bounds[i + 1] - bounds[i])]) >= 0]

    cache.concat_parquet([files(first, [], "a"), files(second, [], "b")], tmp_path / "whole.parquet", rows.schema)
    cache.concat_parquet([files(first, [1000, 4500], "c"), files(second, [7], "d")], tmp_path / "cut.parquet",
                         rows.schema)
    assert (tmp_path / "cut.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert pq.read_table(tmp_path / "cut.parquet").equals(rows)
