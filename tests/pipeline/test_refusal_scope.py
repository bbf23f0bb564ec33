"""Refusal filtering goes through each source's declared scope: `refusal: none` turns it off for every
source (converters that check raw rows too), and the refusal config is in the convert cache key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from bagel.config import load_recipe
from bagel.pipeline.build import run_build
from bagel.sources import registry

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sources"
ROW_CHECKING = {"pippa": "pippa.jsonl", "helpsteer": "helpsteer.jsonl", "lmsys_chat_1m": "lmsys_chat_1m.parquet"}


def _recipe(tmp_path, name: str, **source) -> Path:
    shutil.copy(FIXTURES / ROW_CHECKING[name], tmp_path / ROW_CHECKING[name])
    options = {"keep_probability": 1.0} if name == "pippa" else {}
    recipe = {"name": "r", "sources": [{"name": name, "path": ROW_CHECKING[name], "options": options, **source}],
              "decontamination": {"enabled": False}, "format": {"mode": "random", "formats": ["alpaca"]}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    return tmp_path / "r.yaml"


def _convert(report: dict, name: str) -> dict:
    return report["sources"][name]["steps"]["convert"]


def _refused(convert: dict) -> int:
    return sum(n for reason, n in convert["dropped"].items() if reason.startswith("refusal:"))


@pytest.mark.parametrize("name", sorted(ROW_CHECKING))
def test_declared_scope_is_not_none(name):
    assert registry()[name].refusal != "none"


@pytest.mark.parametrize("name", sorted(ROW_CHECKING))
def test_refusal_none_on_the_source_turns_its_filter_off(tmp_path, name):
    on = run_build(load_recipe(_recipe(tmp_path, name)), tmp_path / "on")
    off = run_build(load_recipe(_recipe(tmp_path, name, refusal="none")), tmp_path / "off")
    assert _refused(_convert(on, name)) == 1
    assert _refused(_convert(off, name)) == 0


@pytest.mark.parametrize("name", sorted(ROW_CHECKING))
def test_refusal_disabled_in_the_recipe_turns_its_filter_off(tmp_path, name):
    recipe = load_recipe(_recipe(tmp_path, name))
    recipe = recipe.model_copy(update={"refusal": recipe.refusal.model_copy(update={"enabled": False})})
    assert _refused(_convert(run_build(recipe, tmp_path / "out"), name)) == 0


@pytest.mark.parametrize("name", sorted(ROW_CHECKING))
def test_changing_the_patterns_reconverts(tmp_path, name):
    run_build(load_recipe(_recipe(tmp_path, name)), tmp_path / "out")
    recipe = yaml.safe_load((tmp_path / "r.yaml").read_text())
    recipe["refusal"] = {"patterns": ["no pattern matches this"]}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    second = run_build(load_recipe(tmp_path / "r.yaml"), tmp_path / "out")
    assert _convert(second, name)["cached"] is False
    assert _refused(_convert(second, name)) == 0


def test_another_scope_on_a_row_checking_source_filters_its_records(tmp_path):
    """pippa checks raw rows (all turns, before folding); a recipe scope `responses` checks its records."""
    report = run_build(load_recipe(_recipe(tmp_path, "pippa", refusal="responses")), tmp_path / "out")
    assert _refused(_convert(report, "pippa")) == 0  # the refusal is in a system prompt: not a response
    rows = [json.loads(line) for line in (FIXTURES / "pippa.jsonl").read_text().splitlines()]
    assert any("language model" in turn["value"] for row in rows for turn in row.get("conversations", [])
               if turn["from"] == "system")
