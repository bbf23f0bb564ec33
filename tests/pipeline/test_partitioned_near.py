"""The near pass in band-key partitions (the Ray engine's tasks, and the local engine past its memory budget)
drops exactly what the local engine's single partition drops: every dedup policy, an opted-out source and
near copies of an exclude set, with the same removal records."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from bagel.config import load_recipe
from bagel.pipeline import cache, near
from bagel.pipeline.partitioned_dedup import partitioned_dedup
from bagel.pipeline.result import StepResult
from bagel.pipeline.steps import dedup_step
from bagel.records import RECORD_SCHEMA, make_id, record
from bagel.sources.base import Source
from tests.pipeline.helpers import write_recipe

GSM8K = Path(__file__).parents[1] / "fixtures" / "dedup" / "gsm8k_train_questions.jsonl.gz"
QUESTIONS = [json.loads(line)["question"] for line in gzip.open(GSM8K, "rt", encoding="utf-8")][:120]


def _write(path: Path, texts: list[str], source: str) -> Path:
    rows = [record("text", id=make_id(t), source=source, text=t) for t in texts]
    cache.write_parquet(path, RECORD_SCHEMA, [pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)])
    return path


def _inputs(root: Path) -> list[tuple[Source, StepResult]]:
    q = QUESTIONS
    sources = [  # (name, policy, texts)
        ("first", "check_add", q[0:60] + [t.upper() for t in q[50:55]]),  # near copies within the source
        ("adder", "add", [t + "!" for t in q[30:50]] + q[60:80]),
        ("bystander", "none", [t.lower() for t in q[0:10]] + [t + " ." for t in q[100:105]]),
        ("later", "check_add", [t.replace(",", "") for t in q[40:70]] + q[80:90] + [t + "?" for t in q[105:110]]),
        ("optout", "check_add", [t.upper() for t in q[0:20]] + [t + "!!" for t in q[100:103]]),
    ]
    ordered = []
    for name, policy, texts in sources:
        path = _write(root / f"{name}.parquet", texts, name)
        source = Source(name, "text", 1, "", "", convert_row=lambda row, ctx: None, dedup=policy)
        ordered.append((source, StepResult("sample", name, path, f"key-{name}", len(texts), len(texts))))
    return ordered


def _recipe(root: Path):
    (root / "x.jsonl").write_text("")
    _write(root / "old.parquet", QUESTIONS[100:110], "old")
    return load_recipe(write_recipe(
        root / "r.yaml", [{"name": "optout", "shape": "records", "path": "x.jsonl", "near_dedup": False}],
        exclude=[{"name": "old", "path": "old.parquet"}], dedup={"near": {"enabled": True}}))


def _removals(result: StepResult) -> str:
    return Path(result.extra["near_removals"]).read_text()


def _serial(fn, args):
    return [fn(*a) for a in args]


def test_partitioned_near_equals_one_partition(tmp_path, monkeypatch):
    recipe, ordered = _recipe(tmp_path), _inputs(tmp_path)
    local = dedup_step(recipe, ordered, tmp_path / "local", 1 << 30)
    assert [r.dropped for r in local] == [
        {"near_duplicate": 5}, {}, {"excluded:old": 5}, {"duplicate": 9, "near_duplicate": 21, "excluded:old": 5}, {}]
    assert '"near_source": "adder"' in _removals(local[3])  # the adder's rows are kept for later sources
    monkeypatch.setattr(near, "FLUSH_PAIRS", 200)  # a file's keys written in several chunks
    assert near.band_partitions(250, recipe, 20_000) > 5
    tight = dedup_step(recipe, ordered, tmp_path / "tight", 20_000)  # several partitions
    ray_like = partitioned_dedup(recipe, ordered, tmp_path / "parts", 3, _serial)
    for other in (tight, ray_like):
        assert [r.dropped for r in other] == [r.dropped for r in local]
        for mine, theirs in zip(other, local):
            assert mine.path.read_bytes() == theirs.path.read_bytes()
            assert _removals(mine) == _removals(theirs)
    assert not (tmp_path / "tight" / "dedup" / "near").exists()


def test_band_keys_split_the_same_on_any_number_of_threads(tmp_path):
    recipe = _recipe(tmp_path).model_copy(update={"batch_size": 16})
    path = _write(tmp_path / "q.parquet", QUESTIONS + [t.upper() for t in QUESTIONS[:30]], "q")
    live = np.ones(150, dtype=bool)
    live[::7] = False
    written = []
    for threads in (1, 3):
        folder = tmp_path / f"threads{threads}"
        folder.mkdir()
        pairs = near.split_band_keys(str(path), 2, live, recipe, str(folder), 2, threads)
        written.append((pairs, {p.name: p.read_bytes() for p in sorted(folder.iterdir())}))
    assert written[0] == written[1]
    assert written[0][0] == 128 * 11  # every live row's 11 band keys
    assert sorted(written[0][1]) == ["keys.2.0.0.bin", "keys.2.0.1.bin", "sketch.2.bin"]
