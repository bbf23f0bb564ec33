"""Each step's cache key covers the code that step runs, not the whole package: editing the report
reuses every step, editing the renderer reconverts nothing, editing a source's converter reconverts
that source only."""

from __future__ import annotations

import pytest

from bagel.config import load_recipe
from bagel.pipeline import code
from bagel.pipeline.build import run_build
from tests.pipeline.helpers import qa, write_jsonl, write_recipe


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A two-source recipe (one generic shape, one with its own converter module) built once."""
    tmp = tmp_path_factory.mktemp("keys")
    write_jsonl(tmp / "data" / "plain.jsonl", [qa(f"q{i}", f"a{i}") for i in range(20)])
    write_jsonl(tmp / "data" / "py.jsonl", [qa(f"write code {i}", f"print({i})") for i in range(10)])
    recipe = write_recipe(tmp / "k.yaml", [
        {"name": "plain", "shape": "instruction", "path": "data/plain.jsonl", "confidence": 2},
        {"name": "python_alpaca", "path": "data/py.jsonl"},
    ], format={"mode": "random", "formats": ["alpaca"]})
    out = tmp / "out"
    first = run_build(load_recipe(recipe), out)
    assert not any(s["cached"] for src in first["sources"].values() for s in src["steps"].values())
    return recipe, out


def _edited(monkeypatch, tmp_path, module: str) -> None:
    """Make the build see ``module`` with its docstring edited (a copy of its file under ``tmp_path``)."""
    files = code._modules()
    copy = tmp_path / files[module].name
    text = files[module].read_text(encoding="utf-8")
    copy.write_text(text.replace('"""', '"""Edited. ', 1), encoding="utf-8")
    monkeypatch.setattr(code, "_modules", lambda: {**files, module: copy})
    code.import_graph.cache_clear()
    code.code_version.cache_clear()


def _cached(report: dict) -> dict:
    return {name: {step: s["cached"] for step, s in src["steps"].items()} for name, src in report["sources"].items()}


@pytest.fixture(autouse=True)
def _fresh_code_caches():
    yield
    code.import_graph.cache_clear()
    code.code_version.cache_clear()


def test_editing_the_report_reuses_every_step(built, monkeypatch, tmp_path):
    recipe, out = built
    _edited(monkeypatch, tmp_path, "bagel.report.page")
    report = run_build(load_recipe(recipe), out)
    assert all(all(steps.values()) for steps in _cached(report).values())


def test_editing_the_renderer_reconverts_nothing(built, monkeypatch, tmp_path):
    recipe, out = built
    _edited(monkeypatch, tmp_path, "bagel.formats.renderer")
    cached = _cached(run_build(load_recipe(recipe), out))
    assert {name: steps["convert"] for name, steps in cached.items()} == {"python_alpaca": True, "plain": True}
    assert {name: steps["render"] for name, steps in cached.items()} == {"python_alpaca": False, "plain": False}


def test_editing_a_converter_reconverts_its_source_only(built, monkeypatch, tmp_path):
    recipe, out = built
    _edited(monkeypatch, tmp_path, "bagel.sources.python_alpaca")
    cached = _cached(run_build(load_recipe(recipe), out))
    assert {name: steps["convert"] for name, steps in cached.items()} == {"python_alpaca": False, "plain": True}


def test_a_step_key_covers_the_modules_its_module_imports():
    assert "bagel.records" in code.closure("bagel.pipeline.convert")
    assert not [m for m in code.closure("bagel.pipeline.convert") if m.startswith(("bagel.report", "bagel.decontam."))
                and m != "bagel.decontam.options"]
