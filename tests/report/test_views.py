"""write_views and ``bagel report``: the same outputs give the same bytes; bad dirs are user errors."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from bagel.cli import app
from bagel.errors import UserError
from bagel.log import logger
from bagel.report import write_views
from tests.report.builds import write_build

runner = CliRunner()


def test_bagel_report_reproduces_the_bytes_of_the_build(build_dir, tmp_path):
    write_views(build_dir)  # what the build writes
    built = {name: (build_dir / name).read_bytes() for name in ("report.html", "README.md")}
    (build_dir / "report.html").unlink()
    result = runner.invoke(app, ["report", str(build_dir)])
    assert result.exit_code == 0, result.output
    assert {name: (build_dir / name).read_bytes() for name in built} == built
    moved = shutil.copytree(build_dir, tmp_path / "elsewhere")
    write_views(moved)
    assert (moved / "report.html").read_bytes() == built["report.html"]


def test_bagel_report_on_a_dir_that_is_not_a_build(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().endswith("is not a build output dir: missing report.json, sft.parquet, dpo.parquet")


def test_token_lengths_when_the_recipe_has_a_tokenizer(tmp_path, word_tokenizer):
    out = write_build(tmp_path / "b", tokenizer=str(word_tokenizer))
    write_views(out)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<th>output (tokens)</th>") == 2 and page.count("<th>chosen (tokens)</th>") == 2
    assert f"Token lengths: tokenizer {word_tokenizer}, no special tokens added" in page


def test_an_unloadable_tokenizer_only_drops_the_token_lengths(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(logger, "propagate", True)  # the CLI's log.configure() turns it off
    out = write_build(tmp_path / "b", tokenizer=str(tmp_path / "missing"))
    write_views(out)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "(tokens)" not in page and "<th>output (chars)</th>" in page
    assert "no token lengths, cannot load tokenizer" in caplog.text


def test_write_views_needs_the_build_outputs(build_dir):
    (build_dir / "dpo.parquet").unlink()
    with pytest.raises(UserError, match="missing dpo.parquet"):
        write_views(build_dir)
