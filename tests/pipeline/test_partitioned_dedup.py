"""Dedup in hash partitions (the Ray engine's) keeps exactly the rows the local seen-set keeps, whatever
the number of partitions: the priority rule by load position, then row, for every dedup policy, and the
exclude sets (the first set holding an id names the drop)."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from bagel.config import load_recipe
from bagel.pipeline import cache
from bagel.pipeline.partitioned_dedup import partitioned_dedup
from bagel.pipeline.result import StepResult
from bagel.pipeline.steps import dedup_step
from bagel.records import RECORD_SCHEMA, make_id, record
from bagel.sources.base import Source
from tests.pipeline.helpers import write_recipe

POLICIES = ("check_add", "add", "none", "check_add", "check_add", "add")


def _inputs(root) -> list[tuple[Source, StepResult]]:
    """Six sources of 0-400 rows drawing ids from a small pool (repeats within and across sources)."""
    rng = random.Random(11)
    ordered = []
    for pos, policy in enumerate(POLICIES):
        n = rng.choice([0, 1, 37, 400])
        ids = [make_id(f"item {rng.randrange(300)}") for _ in range(n)]
        path = root / f"in{pos}.parquet"
        rows = [record("text", id=i, source=f"s{pos}", text=f"{pos}:{row}") for row, i in enumerate(ids)]
        cache.write_parquet(path, RECORD_SCHEMA, [pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)])
        source = Source(f"s{pos}", "text", 1, "", "", convert_row=lambda row, ctx: None, dedup=policy)
        ordered.append((source, StepResult("sample", source.name, path, f"key{pos}", n, n)))
    return ordered


def _serial(fn, args):
    return [fn(*a) for a in args]


def _exclude_set(path, items: range) -> None:
    rows = [record("text", id=make_id(f"item {i}"), source="old", text=f"old {i}") for i in items]
    cache.write_parquet(path, RECORD_SCHEMA, [pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)])


@pytest.mark.parametrize(("partitions", "exclude"), [(1, False), (3, False), (16, False), (4, True)])
def test_partitioned_dedup_equals_the_seen_set(tmp_path, partitions, exclude):
    (tmp_path / "x.jsonl").write_text("")  # the recipe only sets the batch size and the exclude sets here
    sets = []
    if exclude:
        _exclude_set(tmp_path / "old1.parquet", range(0, 300, 7))
        _exclude_set(tmp_path / "old2.parquet", range(0, 300, 5))
        sets = [{"name": "old1", "path": "old1.parquet"}, {"name": "old2", "path": "old2.parquet"}]
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", [{"name": "x", "shape": "records", "path": "x.jsonl"}],
                                      exclude=sets))
    ordered = _inputs(tmp_path)
    local = dedup_step(recipe, ordered, tmp_path / "local", 1 << 20)
    parts = partitioned_dedup(recipe, ordered, tmp_path / "parts", partitions, _serial)
    assert sum(r.rows_in - r.kept for r in local) > 100  # there was something to drop
    if exclude:  # both sets drop rows, of every policy (the "none" source too)
        reasons = {reason for r in local for reason in r.dropped}
        assert {"excluded:old1", "excluded:old2", "duplicate"} <= reasons
        assert "excluded:old1" in local[2].dropped  # the source that neither checks nor adds
    assert [r.dropped for r in parts] == [r.dropped for r in local]
    for mine, theirs in zip(parts, local):
        assert mine.path.read_bytes() == theirs.path.read_bytes()
    assert not any((tmp_path / "parts" / "dedup" / "partitions").iterdir())
    again = partitioned_dedup(recipe, ordered, tmp_path / "parts", partitions, _serial)
    assert all(r.cached for r in again)
