"""eval.html: runs side by side, best in bold, differences to the first run, data escaped."""

from __future__ import annotations

import json

import pytest

from bagel.errors import UserError
from bagel.eval.page import render_eval_html, scores, write_eval_html
from bagel.eval.results import load_results
from tests.report.htmlcheck import Page


def results(model: str, acc: float, em: float | None, fmt: str = "vicuna") -> dict:
    metrics = {"arc_challenge": {"alias": "arc_challenge", "acc,none": acc, "acc_stderr,none": 0.01,
                                 "sample_len": 20}}
    if em is not None:
        metrics["gsm8k"] = {"alias": "gsm8k", "exact_match,strict-match": em, "exact_match_stderr,strict-match": "N/A"}
    return {"results": metrics, "higher_is_better": {"arc_challenge": {"acc": True}},
            "bagel": {"model": model, "format": fmt, "limit": 20, "seed": 42, "adapter": None,
                      "versions": {"lm_eval": "0.4.13"}}}


def test_scores_skip_stderr_and_text():
    assert scores(results("m", 0.25, 0.5)) == {("arc_challenge", "acc", "none"): (0.25, 0.01),
                                                ("gsm8k", "exact_match", "strict-match"): (0.5, None)}


def test_side_by_side_page():
    runs = [("a/results.json", results("out/demo-models/sft", 0.25, 0.5)),
            ("b/results.json", results("out/demo-models/dpo<x>", 0.5, None, fmt="chatml"))]
    page = render_eval_html(runs)
    assert "<title>bagel eval: sft vs dpo&lt;x&gt;</title>" in page and "dpo<x>" not in page
    assert '<td class="n">0.2500 <span class="stat">± 0.0100</span></td>' in page
    assert ('<td class="n"><b>0.5000 <span class="stat">± 0.0100</span></b><span class="stat"> (+0.2500)</span></td>'
            in page)
    assert '<span class="muted">—</span>' in page  # dpo has no gsm8k score
    assert "<td>chatml</td>" in page and "<td>out/demo-models/sft</td>" in page
    parsed = Page(page)
    assert parsed.doctype and not parsed.errors and parsed.ids == ["scores", "runs"]
    assert parsed.table_with("task") == [
        ["task", "metric", "filter", "sft", "dpo<x>"],
        ["arc_challenge", "acc", "none", "0.2500 ± 0.0100", "0.5000 ± 0.0100 (+0.2500)"],
        ["gsm8k", "exact_match", "strict-match", "0.5000", "—"],
    ]


def test_write_and_load(tmp_path):
    for name, acc in (("base", 0.2), ("sft", 0.3)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(results(name, acc, 0.1)))
    out = write_eval_html([tmp_path / "base", tmp_path / "sft" / "results.json"], tmp_path / "eval.html")
    assert "base vs sft" in out.read_text()
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UserError, match="not an lm-eval results file"):
        load_results(tmp_path / "bad.json")
    with pytest.raises(UserError, match="no eval results at"):
        load_results(tmp_path / "missing.json")
