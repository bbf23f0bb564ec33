"""The command line: a bad recipe is one line on stderr and exit code 2, never a traceback."""

import pytest
from typer.testing import CliRunner

from bagel.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ("name: x\nsources: [{name: piqa, path: data.jsonl}]\nbogus: 1\n", "unknown key 'bogus'"),
        ("name: x\nsources: [{name: no_such_source}]\n", "unknown source 'no_such_source'"),
        ("name: x\nsources: [{name: piqa, path: missing.jsonl}]\n", "file not found"),
        ("name: x\nsources: [{name: piqa, path: data.jsonl, options: {nope: 1}}]\n", "unknown option(s) nope"),
        ("name: [unclosed\n", "invalid YAML"),
        ("name: x\nsources: [{name: piqa, confidence: 12}]\n", "sources.0.confidence"),
    ],
)
def test_bad_recipe_exit_code_and_message(tmp_path, recipe, message):
    (tmp_path / "data.jsonl").write_text("")
    path = tmp_path / "r.yaml"
    path.write_text(recipe)
    result = runner.invoke(app, ["build", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_missing_recipe(tmp_path):
    result = runner.invoke(app, ["build", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: recipe not found: {tmp_path / 'nope.yaml'}"


def test_sources_lists_registry():
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 0
    assert "piqa" in result.output and "spider" in result.output
