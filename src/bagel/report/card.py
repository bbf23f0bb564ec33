"""The dataset card ``README.md``: Hugging Face conventions, so a build's out dir uploads as is."""

from __future__ import annotations

from huggingface_hub import DatasetCardData

from bagel.report import order, provenance

# License ids the Hub accepts (https://huggingface.co/docs/hub/repositories-licenses) that bagel's sources use.
HUB_LICENSES = frozenset({
    "afl-3.0", "agpl-3.0", "apache-2.0", "bsd-3-clause", "cc-by-2.0", "cc-by-3.0", "cc-by-4.0", "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc0-1.0", "gpl-3.0", "lgpl-3.0", "mit", "odc-by", "openrail",
    "unlicense", "wtfpl",
})
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))
COLUMNS = {"sft": "id, source, format, input, output", "dpo": "id, source, format, prompt, chosen, rejected"}


def hub_license(name: str | None) -> str:
    """The Hub's id of a source's license, or ``other`` when the Hub has none for it."""
    key = (name or "").strip().lower()
    return key if key in HUB_LICENSES else "other"


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` value for ``rows`` examples."""
    return next((name for limit, name in SIZE_CATEGORIES if rows < limit), "n>1B")


def _md(value) -> str:
    """A markdown table cell: pipes escaped, newlines flattened."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def header(report: dict) -> str:
    """The card's YAML metadata (without the ``---`` fences)."""
    out = report["outputs"]
    licenses = sorted({hub_license(info["license"]) for info in report["sources"].values()})
    configs = [{"config_name": name, "data_files": f"{name}.parquet"} for name in ("sft", "dpo") if out[name]]
    if configs:
        configs[0]["default"] = True
    data = DatasetCardData(
        license=licenses or ["other"],
        task_categories=["text-generation"],
        size_categories=[size_category(out["sft"] + out["dpo"])],
        pretty_name=f"bagel: {report['recipe']}",
        tags=["bagel", "instruction-tuning", "sft", "dpo", *report["format"]["formats"]],
        configs=configs,
    )
    return data.to_yaml()


def render_card(report: dict) -> str:
    """The whole README.md: YAML header, what the files hold, the sources, the decontamination summary."""
    out, fmt, dec = report["outputs"], report["format"], report["decontamination"]
    configs = [[name, f"`{name}.parquet`", f"{out[name]:,}", COLUMNS[name]] for name in ("sft", "dpo") if out[name]]
    sources = []
    for name, info in order.sources(report):
        steps = info["steps"]
        sources.append([f"`{name}`", info["kind"], info["license"] or "unknown", info["hub_id"] or "local file",
                        info["confidence"], f"{steps['decontam']['kept']:,}", f"{steps['render'].get('sft_rows', 0):,}",
                        f"{steps['render'].get('dpo_rows', 0):,}"])
    removals = [[f"`{source}`", benchmark, f"{n:,}"]
                for source, counts in dec["by_source"].items() for benchmark, n in counts.items()]
    return "\n\n".join([
        f"---\n{header(report).rstrip()}\n---",
        f"# bagel: {report['recipe']}",
        "A multi-source instruction-tuning mix (SFT + DPO) built with `bagel build` from the recipe "
        f"`{report['recipe']}` (seed {report['seed']}, bagel {report['bagel_version']}, "
        f"code {report['code_version']}): "
        "converted to one record schema, deduplicated across sources, refusal-filtered, decontaminated against "
        "benchmarks, and rendered in the prompt formats below.",
        "## Configs",
        _md_table(["config", "file", "rows", "columns"], configs) if configs else "No training rows.",
        f"Also here: `records.parquet` ({out['records']:,} unified records before rendering), "
        "`decontamination.jsonl` (one line per removed item), `report.json` (counts per source and step) "
        "and `report.html` (the build report: open it in a browser).",
        "## Prompt formats",
        f"Mode `{fmt['mode']}`, formats {', '.join(f'`{f}`' for f in fmt['formats'])}; BOS `{fmt['bos']}`, "
        f"EOS `{fmt['eos']}`; chatml markers {'on' if fmt['chatml_markers'] else 'off'}. Each row's `input` "
        "(or `prompt`) is the prompt exactly as trained; `output` (or `chosen` / `rejected`) is the completion.",
        "## Sources",
        "Each row keeps the license of its source.",
        _md_table(["source", "kind", "license", "hub id", "confidence", "records", "sft rows", "dpo rows"], sources),
        *provenance_section(report),
        "## Decontamination",
        f"Training items removed as matches of benchmark items: {dec['removed']:,}."
        + ("\n\n" + _md_table(["source", "benchmark", "removed"], removals) if removals else ""),
        *token_card(report),
    ]) + "\n"


def provenance_section(report: dict) -> list[str]:
    """The card's "Licenses and revisions" section: each source's license, hub id and the commit it read, a
    warning when a license is non-commercial, and the sources skipped because the hub refused them."""
    parts = ["## Licenses and revisions",
             "Each source with its license, where its rows came from and the hub commit read "
             "(`unpinned` when the build had no lock file entry for it: run `bagel lock`).",
             _md_table(["source", "license", "hub id", "revision"],
                       [[f"`{name}`", *cells] for name, *cells in provenance.rows(report)])]
    restricted = provenance.non_commercial(report)
    if restricted:
        names = ", ".join(f"`{name}` ({license})" for name, license in restricted)
        parts.append(f"> **Warning: non-commercial licenses.** {names}: rows of these sources may not be used "
                     "commercially, so neither may this mix as a whole (or drop those sources).")
    skipped = provenance.skipped(report)
    if skipped:
        parts.append("### Skipped sources\n\nThe hub could not serve these sources, so the build went on "
                     "without them (`--skip-unavailable`):\n\n"
                     + "\n".join(f"- {_md(provenance.skipped_line(entry))}" for entry in skipped))
    return parts


def token_card(report: dict) -> list[str]:
    """The card's token statistics: per source, format and kind (empty for reports without them)."""
    tokens = report.get("tokens")
    if not tokens:
        return []
    unit = tokens["unit"]
    how = (f"tokenizer `{tokens['tokenizer']}`, no special tokens" if tokens["tokenizer"]
           else "no tokenizer configured, so whitespace-separated words are counted instead of tokens")
    parts = ["## Token statistics",
             f"Prompt and response lengths of every training row in {unit} ({how}); truncated: prompt plus the "
             f"longer response over {tokens['max_seq_length']:,}; chosen / rejected: mean chosen over mean rejected "
             "length of a preference source."]
    for by in ("source", "format", "kind"):
        rows = [[f"`{name}`" if by == "source" else name, f"{g['rows']:,}", f"{g['prompt']['sum']:,}",
                 f"{g['prompt']['p50']:,.0f} / {g['prompt']['p95']:,.0f} / {g['prompt']['max']:,}",
                 f"{g['response']['sum']:,}",
                 f"{g['response']['p50']:,.0f} / {g['response']['p95']:,.0f} / {g['response']['max']:,}",
                 f"{100 * g['truncated_share']:.2f}%", g.get("chosen_rejected_ratio", "")]
                for name, g in tokens[f"by_{by}"].items()]
        parts.append(_md_table([by, "rows", f"prompt {unit}", "p50 / p95 / max", f"response {unit}",
                                "p50 / p95 / max", "truncated", "chosen / rejected"], rows))
    return parts
