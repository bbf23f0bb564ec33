"""A hub source that cannot be read stops the build with one line, or is skipped and reported."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bagel.cli import app
from tests.fakehub import CAUSE, ERRORS, FIXTURES, FakeHub
from tests.pipeline.helpers import write_recipe

runner = CliRunner()
LMSYS = "lmsys/lmsys-chat-1m"


@pytest.fixture
def recipe(tmp_path):
    return write_recipe(tmp_path / "r.yaml", [{"name": "lmsys_chat_1m"}, {"name": "piqa"},
                                              {"name": "spider", "path": str(FIXTURES / "spider.parquet")}])


def hub(monkeypatch, kind: str) -> FakeHub:
    return FakeHub(monkeypatch, rows={"ybisk/piqa": FIXTURES / "piqa.jsonl"}, errors={LMSYS: ERRORS[kind](LMSYS)})


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_unavailable_source_fails_with_one_line(monkeypatch, recipe, tmp_path, kind):
    hub(monkeypatch, kind)
    result = runner.invoke(app, ["build", str(recipe), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert errors[0].startswith(f"error: source lmsys_chat_1m: {LMSYS} ")
    assert "--skip-unavailable" in errors[0] and "enabled: false" in errors[0]
    assert not (tmp_path / "out" / "report.json").exists()


def test_skip_unavailable_builds_the_rest_and_reports_it(monkeypatch, recipe, tmp_path):
    hub(monkeypatch, "gated_via_datasets")
    result = runner.invoke(app, ["build", str(recipe), "--out", str(tmp_path / "out"), "--skip-unavailable"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report["sources"]) == {"piqa", "spider"}
    assert report["sources"]["piqa"]["steps"]["convert"]["kept"] == 3
    [skipped] = report["skipped"]
    assert (skipped["source"], skipped["hub_id"], skipped["cause"]) == ("lmsys_chat_1m", LMSYS, CAUSE["gated"])
    assert "HF_TOKEN" in skipped["hint"]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "### Skipped sources" in card and f"- lmsys_chat_1m: {LMSYS} — gated (" in card
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Skipped sources" in html and "lmsys_chat_1m: lmsys/lmsys-chat-1m — gated" in html
    assert "skipped lmsys_chat_1m" in result.stdout


def test_skip_unavailable_with_nothing_left_is_one_line(monkeypatch, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\nsources: [{name: lmsys_chat_1m}]\ndecontamination: {enabled: false}\n")
    hub(monkeypatch, "offline")
    result = runner.invoke(app, ["build", str(path), "--out", str(tmp_path / "out"), "--skip-unavailable"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == "error: the recipe enables no source (every one was skipped)"
