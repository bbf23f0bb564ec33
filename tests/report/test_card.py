"""The dataset card README.md: Hub YAML header and row counts that match the parquet files."""

from __future__ import annotations

from collections import Counter

import pyarrow.parquet as pq
import pytest
import yaml

from bagel.report import write_views
from bagel.report.card import hub_license, size_category
from tests.report.builds import source_of, write_build


def split_card(text: str) -> tuple[dict, str]:
    """The parsed YAML header and the markdown body of a card."""
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def md_table(body: str, heading: str) -> list[list[str]]:
    """The rows (without header) of the first markdown table after ``heading``."""
    lines = body.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_card_header_follows_hub_conventions(build_dir):
    write_views(build_dir)
    header, body = split_card((build_dir / "README.md").read_text(encoding="utf-8"))
    assert header == {
        "license": ["cc-by-sa-4.0", "mit", "other"],
        "size_categories": ["n<1K"],
        "task_categories": ["text-generation"],
        "pretty_name": "bagel: tiny",
        "tags": ["bagel", "instruction-tuning", "sft", "dpo", "alpaca", "vicuna"],
        "configs": [{"config_name": "sft", "data_files": "sft.parquet", "default": True},
                    {"config_name": "dpo", "data_files": "dpo.parquet"}],
    }
    assert body.startswith("\n# bagel: tiny\n")


def test_card_row_counts_match_the_parquet_files(build_dir):
    write_views(build_dir)
    _, body = split_card((build_dir / "README.md").read_text(encoding="utf-8"))
    counts = {name: Counter(source_of(r) for r in pq.read_table(build_dir / f"{name}.parquet").to_pylist())
              for name in ("records", "sft", "dpo")}
    sources = md_table(body, "## Sources")
    assert [row[:5] for row in sources] == [
        ["`alpha`", "sft", "MIT", "org/alpha", "3"],
        ["`beta`", "dpo", "CC-BY-SA-4.0", "org/beta", "2"],
        ["`gamma`", "text", "Public domain (Project Gutenberg)", "local file", "1"],
    ]
    for row in sources:
        name = row[0].strip("`")
        assert [int(c) for c in row[5:]] == [counts["records"][name], counts["sft"][name], counts["dpo"][name]]
    configs = md_table(body, "## Configs")
    assert [(r[0], int(r[2])) for r in configs] == [("sft", pq.read_metadata(build_dir / "sft.parquet").num_rows),
                                                    ("dpo", pq.read_metadata(build_dir / "dpo.parquet").num_rows)]
    assert md_table(body, "## Decontamination") == [["`alpha`", "gsm8k", "1"]]


def test_card_without_dpo_rows_has_only_the_sft_config(tmp_path):
    out = write_build(tmp_path / "b", with_dpo=False)
    write_views(out)
    header, body = split_card((out / "README.md").read_text(encoding="utf-8"))
    assert header["configs"] == [{"config_name": "sft", "data_files": "sft.parquet", "default": True}]
    assert header["license"] == ["mit", "other"]
    assert [r[0] for r in md_table(body, "## Configs")] == ["sft"]


@pytest.mark.parametrize("rows, category", [
    (0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (99_999, "10K<n<100K"), (100_000, "100K<n<1M"),
    (2_500_000, "1M<n<10M"), (10**9, "n>1B"),
])
def test_size_category(rows, category):
    assert size_category(rows) == category


@pytest.mark.parametrize("license, hub", [
    ("Apache-2.0", "apache-2.0"), ("CC-BY-SA-4.0", "cc-by-sa-4.0"), ("WTFPL", "wtfpl"), ("GFDL-1.2", "other"),
    ("user-supplied", "other"), (None, "other"),
])
def test_hub_license(license, hub):
    assert hub_license(license) == hub


SHA = "0123456789abcdef0123456789abcdef01234567"  # a made-up commit


def test_card_lists_license_hub_id_and_revision_per_source(build_dir):
    import json

    from bagel.report.card import render_card

    report = json.loads((build_dir / "report.json").read_text())
    report["sources"]["alpha"].update(origin="hub", revision=SHA, hub_reads=[
        {"hub_id": "org/alpha", "ref": "main", "revision": SHA, "config": None, "split": "train", "data_files": None}])
    report["sources"]["beta"].update(origin="hub", revision=None, hub_reads=[
        {"hub_id": "org/beta", "ref": "refs/convert/parquet", "revision": None, "config": "default", "split": "train",
         "data_files": None}])
    report["sources"]["gamma"].update(origin="download", revision=None, hub_reads=[])
    _, body = split_card(render_card(report))
    assert md_table(body, "## Licenses and revisions") == [
        ["`alpha`", "MIT", "org/alpha", SHA],
        ["`beta`", "CC-BY-SA-4.0", "org/beta", "unpinned (refs/convert/parquet)"],
        ["`gamma`", "Public domain (Project Gutenberg)", "downloaded", "—"],
    ]
    assert "non-commercial" not in body.lower()
    assert "Skipped sources" not in body


def test_card_warns_when_a_license_is_non_commercial(build_dir):
    import json

    from bagel.report.card import render_card

    report = json.loads((build_dir / "report.json").read_text())
    report["sources"]["beta"]["license"] = "CC-BY-NC-4.0"
    _, body = split_card(render_card(report))
    assert ("> **Warning: non-commercial licenses.** `beta` (CC-BY-NC-4.0): rows of these sources may not be used "
            "commercially") in body
    assert md_table(body, "## Licenses and revisions")[1] == ["`beta`", "CC-BY-NC-4.0", "org/beta", "—"]


@pytest.mark.parametrize("license, restricted", [
    ("CC-BY-NC-4.0", True), ("cc-by-nc-sa-4.0", True), ("Non-commercial research only", True),
    ("Apache-2.0", False), ("unknown", False), ("LMSYS-Chat-1M Dataset License Agreement", False), (None, False),
])
def test_non_commercial_licenses(license, restricted):
    from bagel.report.provenance import non_commercial

    report = {"sources": {"s": {"license": license, "confidence": 1, "kind": "sft"}}}
    assert non_commercial(report) == ([("s", license)] if restricted else [])
