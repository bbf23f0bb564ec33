"""report.html: structure, escaping, self-containment, and the numbers of report.json."""

from __future__ import annotations

import json

import pytest

from bagel.report import write_views
from bagel.report.page import SECTIONS, reason_category, visible
from tests.report.htmlcheck import Page


@pytest.fixture
def page(build_dir):
    write_views(build_dir)
    return (build_dir / "report.html").read_text(encoding="utf-8")


def test_page_is_well_formed_and_self_contained(page):
    parsed = Page(page)
    assert parsed.errors == []
    assert parsed.doctype
    assert [parsed.tags[t] for t in ("html", "head", "body", "nav", "main", "style")] == [1, 1, 1, 1, 1, 1]
    assert "<title>bagel report: tiny</title><style>" in page
    assert {"script", "link", "img", "iframe", "object"} & set(parsed.tags) == set()
    hrefs = [value for tag, name, value in parsed.attrs if name in ("href", "src")]
    assert hrefs == [f"#{key}" for key, _ in SECTIONS]
    assert [key for key, _ in SECTIONS] == [i for i in parsed.ids]
    urls = {value for _, _, value in parsed.attrs if "://" in value}
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace only: nothing is fetched


def test_page_escapes_data(page):
    assert "<script>" not in page and "per day. <b>" not in page
    assert "what is &lt;script&gt;alert(0)&lt;/script&gt;?" in page
    assert "Janet&#x27;s ducks lay 16 eggs per day. &lt;b&gt;" in page
    assert "Prompt 2 &amp; more" in page


def test_page_shows_the_counts_of_report_json(page, build_dir):
    report = json.loads((build_dir / "report.json").read_text())
    parsed = Page(page)
    assert parsed.table_with("source")[1:] == [
        ["alpha", "sft", "3", "MIT", "org/alpha", "8", "5", "10", "0"],
        ["beta", "dpo", "2", "CC-BY-SA-4.0", "org/beta", "4", "3", "0", "6"],
        ["gamma", "text", "1", "Public domain (Project Gutenberg)", "— (local file)", "10", "2", "2", "0"],
    ]
    per_source = next(t for t in parsed.tables if t[0][-1] == "dropped by reason")
    assert per_source[0] == ["source", "in", "convert", "sample", "dedup", "trim", "decontam", "render",
                             "dropped by reason"]
    assert per_source[1] == ["alpha", "8", "7−1", "7", "6−1", "6", "5−1", "5",
                             "convert: malformed:no_response 1dedup: duplicate 1decontam: contaminated:gsm8k 1"]
    assert per_source[3][:8] == ["gamma", "10", "10", "4−6", "4", "2−2", "2", "2"]
    reasons = parsed.table_with("reason")
    assert reasons[1:] == [
        ["capped", "", "", "", "2", "", "", "2"],
        ["contaminated:gsm8k", "", "", "", "", "1", "", "1"],
        ["duplicate", "", "", "1", "", "", "", "1"],
        ["malformed:no_response", "1", "", "", "", "", "", "1"],
        ["refusal:as an ai", "1", "", "", "", "", "", "1"],
        ["sampled_out", "", "6", "", "", "", "", "6"],
    ]
    assert next(t for t in parsed.tables if t[0][:2] == ["source", "gsm8k"])[1:] == [["alpha", "1", "1"]]
    for name in report["sources"]:
        assert page.count(f">{name}<") >= 3
    for key, value in report["outputs"].items():
        assert f"<b>{value}</b><span>{key if key == 'records' else key + ' rows'}</span>" in page
    assert "<h3>sft · plain_text</h3>" in page and "<h3>dpo · vicuna</h3>" in page
    assert "Total wall time <b>4.6 s</b>" in page


def test_page_lists_charts_and_recipe(page):
    # 3 composition charts, the funnel, the timings, and one histogram per group and text field (no tokens):
    # sft by source 2x2, by format 3x2; dpo by source 1x3, by format 2x3
    assert page.count("<svg ") == 3 + 1 + 1 + 4 + 6 + 3 + 6
    assert "<pre class=\"recipe\">name: tiny\nseed: 42\nsources:\n- name: alpha\n" in page


def test_visible_marks_whitespace():
    assert visible("a <b>  \n\tc\n") == (
        'a &lt;b&gt;<span class="ws">··</span><span class="ws">↵</span>\n'
        '<span class="ws">→</span>\tc<span class="ws">↵</span>\n<span class="ws-end">∎</span>'
    )


@pytest.mark.parametrize("reason, category", [
    ("duplicate", "duplicate"), ("refusal:as an ai", "refusal"), ("malformed:no_response", "malformed"),
    ("contaminated:gsm8k", "contaminated"), ("sampled_out", "sampled_out"), ("capped", "capped"),
    ("too_long", "other"),
])
def test_reason_category(reason, category):
    assert reason_category(reason) == category
