"""`bagel lock` pins every hub source to a commit; `bagel build` reads the lock (frozen or not)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from bagel.cli import app
from bagel.config import load_recipe
from bagel.lock import apply_lock, lock_path, read_lock, unpinned
from tests.fakehub import FIXTURES, FakeHub, fake_sha
from tests.pipeline.helpers import write_recipe

runner = CliRunner()
PARQUET = "refs/convert/parquet"


@pytest.fixture
def recipe(tmp_path):
    """Two hub sources (one on the parquet conversion) and one local file."""
    return write_recipe(tmp_path / "mix.yaml", [{"name": "piqa"}, {"name": "ai2_arc"},
                                                 {"name": "spider", "path": str(FIXTURES / "spider.parquet")}])


def served(monkeypatch, salt: str = "") -> FakeHub:
    return FakeHub(monkeypatch, rows={"ybisk/piqa": FIXTURES / "piqa.jsonl",
                                      "allenai/ai2_arc": FIXTURES / "ai2_arc.parquet"}, salt=salt)


def build(recipe, out, *flags):
    return runner.invoke(app, ["build", str(recipe), "--out", str(out), *flags])


def test_lock_file_lists_each_hub_read_sorted(monkeypatch, recipe):
    hub = served(monkeypatch)
    result = runner.invoke(app, ["lock", str(recipe)])
    assert result.exit_code == 0, result.output
    assert lock_path(recipe) == recipe.parent / "mix.lock.yaml"
    text = lock_path(recipe).read_text()
    assert text.startswith("# Hub commits of every hub source of mix.yaml, written by `bagel lock mix.yaml`.\n")
    assert yaml.safe_load(text) == {
        "lock_version": 1, "recipe": "mix.yaml",
        "sources": {
            "ai2_arc": [{"hub_id": "allenai/ai2_arc", "ref": "main", "sha": fake_sha("allenai/ai2_arc", None),
                         "config": "ARC-Challenge", "split": "train", "data_files": None}],
            "piqa": [{"hub_id": "ybisk/piqa", "ref": PARQUET, "sha": fake_sha("ybisk/piqa", PARQUET),
                      "config": "default", "split": "train", "data_files": None}],
        },
    }
    assert text.index("ai2_arc:") < text.index("piqa:")  # sorted
    assert sorted(hub.infos) == [("allenai/ai2_arc", None), ("ybisk/piqa", PARQUET)]
    assert hub.loads == []  # locking reads no data


def test_build_reads_the_locked_commits_round_trip(monkeypatch, recipe, tmp_path):
    hub = served(monkeypatch)
    assert runner.invoke(app, ["lock", str(recipe)]).exit_code == 0
    result = build(recipe, tmp_path / "out", "--frozen")
    assert result.exit_code == 0, result.output
    piqa_sha, arc_sha = fake_sha("ybisk/piqa", PARQUET), fake_sha("allenai/ai2_arc", None)
    # each hub read loaded twice: cut into parts (by the build's plan), then read
    assert sorted(r[:2] for r in hub.requests()) == [("allenai/ai2_arc", arc_sha)] * 2 + [("ybisk/piqa", piqa_sha)] * 2
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {n: (s["origin"], s["revision"]) for n, s in report["sources"].items()} == {
        "piqa": ("hub", piqa_sha), "ai2_arc": ("hub", arc_sha), "spider": ("local", None)}
    assert report["sources"]["piqa"]["hub_reads"] == [{"hub_id": "ybisk/piqa", "ref": PARQUET, "revision": piqa_sha,
                                                      "config": "default", "split": "train", "data_files": None}]
    card = (tmp_path / "out" / "README.md").read_text()
    assert f"| `piqa` | AFL-3.0 | ybisk/piqa | {piqa_sha} |" in card
    assert "| `spider` | CC-BY-SA-4.0 | local file | — |" in card
    assert piqa_sha in (tmp_path / "out" / "report.html").read_text()
    # the same lock read back pins the same commits
    cfg = load_recipe(recipe)
    apply_lock(cfg, read_lock(lock_path(recipe)))
    assert unpinned(cfg) == {}
    assert {src.name: src.pins for _, src in cfg.enabled_sources() if src.pins} == {
        "piqa": {f"ybisk/piqa@{PARQUET}": piqa_sha}, "ai2_arc": {"allenai/ai2_arc@main": arc_sha}}


def test_a_new_commit_in_the_lock_reconverts(monkeypatch, recipe, tmp_path):
    served(monkeypatch)
    runner.invoke(app, ["lock", str(recipe)])
    assert build(recipe, tmp_path / "out").exit_code == 0
    again = json.loads((tmp_path / "out" / "report.json").read_text())
    assert again["sources"]["piqa"]["steps"]["convert"]["cached"] is False
    assert build(recipe, tmp_path / "out").exit_code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["sources"]["piqa"]["steps"]["convert"]["cached"] is True
    hub = served(monkeypatch, salt="later")  # the hub moved on: relock
    runner.invoke(app, ["lock", str(recipe)])
    assert build(recipe, tmp_path / "out").exit_code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["sources"]["piqa"]["steps"]["convert"]["cached"] is False
    assert report["sources"]["spider"]["steps"]["convert"]["cached"] is True
    assert report["sources"]["piqa"]["revision"] == fake_sha("ybisk/piqa", PARQUET, "later")
    assert [r[1] for r in hub.requests()] == [fake_sha(r[0], PARQUET if r[0] == "ybisk/piqa" else None, "later")
                                              for r in hub.requests()]


def test_frozen_refuses_unpinned_hub_sources(monkeypatch, recipe, tmp_path):
    hub = served(monkeypatch)
    result = build(recipe, tmp_path / "out", "--frozen")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --frozen: 2 hub source(s) not pinned in mix.lock.yaml: "
                                     "ai2_arc, piqa (run `bagel lock mix.yaml`)")
    assert hub.loads == []


def test_unpinned_sources_warn_once_each(monkeypatch, recipe, tmp_path):
    hub = served(monkeypatch)
    result = build(recipe, tmp_path / "out")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "not pinned" in line]
    assert len(warnings) == 2
    assert "source piqa: hub read ybisk/piqa@refs/convert/parquet not pinned" in warnings[1]
    assert sorted(hub.requests())[2][:2] == ("ybisk/piqa", PARQUET)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["sources"]["piqa"]["revision"] is None
    assert "| `piqa` | AFL-3.0 | ybisk/piqa | unpinned (refs/convert/parquet) |" in (
        tmp_path / "out" / "README.md").read_text()


def test_a_commit_revision_in_the_recipe_pins_by_hand(monkeypatch, tmp_path):
    commit = fake_sha("ybisk/piqa", "by-hand")
    path = write_recipe(tmp_path / "r.yaml", [{"name": "piqa", "revision": commit}])
    hub = served(monkeypatch)
    assert build(path, tmp_path / "out", "--frozen").exit_code == 0
    assert hub.requests() == [("ybisk/piqa", commit, "default", "train", None)] * 2  # planned, then read


def test_lock_of_a_gated_source_is_one_line(monkeypatch, tmp_path):
    from tests.fakehub import ERRORS

    path = tmp_path / "r.yaml"
    path.write_text("name: r\nsources: [{name: lmsys_chat_1m}, {name: piqa}]\n")
    FakeHub(monkeypatch, errors={"lmsys/lmsys-chat-1m": ERRORS["gated"]("lmsys/lmsys-chat-1m")})
    result = runner.invoke(app, ["lock", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: source lmsys_chat_1m: lmsys/lmsys-chat-1m is gated")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not lock_path(path).exists()
    result = runner.invoke(app, ["lock", str(path), "--skip-unavailable"])
    assert result.exit_code == 0
    assert set(yaml.safe_load(lock_path(path).read_text())["sources"]) == {"piqa"}


def test_a_bad_lock_file_is_one_line(recipe, tmp_path):
    lock_path(recipe).write_text("lock_version: 1\nrecipe: mix.yaml\nsources: {piqa: [{hub_id: ybisk/piqa, sha: abc}]}\n")
    result = build(recipe, tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: mix.lock.yaml: source piqa: each entry needs a hub_id and a 40-hex sha; "
                                     "rerun `bagel lock`")
