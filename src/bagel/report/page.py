"""report.html: one self-contained page (inline CSS and SVG, no script) of what a build did.

Every piece of data goes through :func:`html.escape`. Sources are shown in load order, steps in
pipeline order, everything else sorted, and nothing depends on the clock or the out dir's path:
the same build outputs give the same bytes.
"""

from __future__ import annotations

from html import escape

import yaml

from bagel.config import Recipe
from bagel.records import KINDS
from bagel.report import order, provenance, svg
from bagel.report.stats import EDGES, TableStats
from bagel.report.style import CSS

SECTIONS = (("overview", "Sources"), ("composition", "Composition"), ("mix", "Mix"), ("funnel", "Funnel"),
            ("lengths", "Lengths"), ("tokens", "Tokens"),
            ("contamination", "Contamination"), ("samples", "Samples"), ("timings", "Timings"), ("recipe", "Recipe"))
REASON_CATEGORIES = ("duplicate", "refusal", "malformed", "contaminated", "sampled_out", "capped")
EXAMPLES_PER_FORMAT = 3
END = '<span class="ws-end">∎</span>'


def reason_category(reason: str) -> str:
    """The family of a drop reason: duplicate (also near copies and exclusions), refusal, malformed, contaminated,
    sampled_out, capped or other."""
    head = reason.split(":", 1)[0]
    if head in ("near_duplicate", "excluded"):
        return "duplicate"
    return head if head in REASON_CATEGORIES else "other"


def visible(text: str) -> str:
    """``text`` HTML-escaped with its whitespace made visible: ``↵`` before newlines, ``→`` for tabs,
    ``·`` for trailing spaces, and ``∎`` at the very end."""
    lines = []
    for line in text.split("\n"):
        body = line.rstrip(" \t")
        trail = line[len(body):].replace(" ", "·").replace("\t", "→")
        shown = escape(body).replace("\t", '<span class="ws">→</span>\t')
        lines.append(shown + (f'<span class="ws">{trail}</span>' if trail else ""))
    return '<span class="ws">↵</span>\n'.join(lines) + END


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """An HTML table; cells are already-escaped HTML; columns in ``numeric`` are right-aligned."""
    th = "".join(f'<th class="n">{h}</th>' if i in numeric else f"<th>{h}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _chips(dropped: dict[str, int], prefix: str = "") -> str:
    return "".join(f'<span class="chip c-{reason_category(r)}">{escape(prefix + r)} {n:,}</span>'
                   for r, n in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0])))


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{escape(title)}</h2>{body}</section>'


# --- sections ---------------------------------------------------------------------------------------


def header(report: dict) -> str:
    """The title, build facts and headline numbers."""
    fmt, out = report["format"], report["outputs"]
    meta = [("seed", report["seed"]), ("bagel", report["bagel_version"]), ("code", report["code_version"]),
            ("format mode", fmt["mode"]), ("formats", ", ".join(fmt["formats"])), ("BOS", fmt["bos"]),
            ("EOS", fmt["eos"]), ("chatml markers", "yes" if fmt["chatml_markers"] else "no")]
    tokenizer = report["recipe_config"].get("format", {}).get("tokenizer")
    if tokenizer:
        meta.append(("tokenizer", tokenizer))
    cards = [("records", out["records"]), ("sft rows", out["sft"]), ("dpo rows", out["dpo"]),
             ("decontaminated", report["decontamination"]["removed"]), ("sources", len(report["sources"])),
             ("seconds", report["timings"]["total"])]
    return (
        f"<h1>bagel build report: {escape(report['recipe'])}</h1>"
        + '<div class="meta">' + "".join(f"<span>{k} <code>{escape(str(v))}</code></span>" for k, v in meta) + "</div>"
        + '<div class="cards">' + "".join(f"<div class=\"card\"><b>{svg.number(v)}</b><span>{k}</span></div>"
                                         for k, v in cards) + "</div>"
    )


def overview(report: dict) -> str:
    """One row per source: declaration and rows in, records, training rows."""
    rows = []
    for name, info in order.sources(report):
        steps = info["steps"]
        rows.append([escape(name), escape(info["kind"]), str(info["confidence"]), escape(info["license"] or "—"),
                     escape(info["hub_id"] or "— (local file)"), f"{steps['convert']['in']:,}",
                     f"{steps['decontam']['kept']:,}", f"{steps['render'].get('sft_rows', 0):,}",
                     f"{steps['render'].get('dpo_rows', 0):,}"])
    return _table(["source", "kind", "confidence", "license", "hub id", "rows in", "records", "sft rows", "dpo rows"],
                  rows, {2, 5, 6, 7, 8}) + warnings(report)


def warnings(report: dict) -> str:
    """The build's warnings about its sources (malformed rows over ``max_malformed``, empty sources), if any."""
    items = [escape(w) for _, info in order.sources(report) for w in info.get("warnings", [])]
    if not items:
        return ""
    return '<h3>Warnings</h3><ul class="warnings">' + "".join(f"<li>{w}</li>" for w in items) + "</ul>"


def sources_provenance(report: dict) -> str:
    """Licenses and hub revisions per source, a non-commercial warning, and the skipped sources."""
    html = "<h3>Licenses and revisions</h3>" + _table(
        ["source", "license", "hub id", "revision"], [[escape(cell) for cell in row] for row in provenance.rows(report)])
    restricted = provenance.non_commercial(report)
    if restricted:
        names = ", ".join(f"{escape(name)} ({escape(license)})" for name, license in restricted)
        html += f'<p class="warn">Non-commercial licenses: {names}. This mix may not be used commercially.</p>'
    skipped = provenance.skipped(report)
    if skipped:
        html += ("<h3>Skipped sources</h3><ul>"
                 + "".join(f"<li>{escape(provenance.skipped_line(entry))}</li>" for entry in skipped) + "</ul>")
    return html


def composition(report: dict) -> str:
    """The mix by source and by source kind after each step, and the training rows per source."""
    sources = order.sources(report)
    names = [name for name, _ in sources]
    seen = {info["kind"] for _, info in sources}
    kinds = [k for k in KINDS if k in seen] + sorted(seen - set(KINDS))
    stages = [("loaded", lambda s: s["convert"]["in"])]
    stages += [(step, lambda s, step=step: s[step]["kept"]) for step in order.steps(report)]
    stages.append(("training rows", lambda s: s["render"].get("sft_rows", 0) + s["render"].get("dpo_rows", 0)))

    def by(key: str) -> list[tuple[str, list[tuple[str, int]]]]:
        rows = []
        for stage, count in stages:
            totals: dict[str, int] = {}
            for name, info in sources:
                label = name if key == "source" else info["kind"]
                totals[label] = totals.get(label, 0) + count(info["steps"])
            rows.append((stage, list(totals.items())))
        return rows

    train_keys = ["sft rows", "dpo rows"]
    train = [(name, [(k, info["steps"]["render"].get(k.replace(" ", "_"), 0)) for k in train_keys])
             for name, info in sources]
    return (
        '<p class="note">Rows of each source (and of each source kind) after every step: "loaded" is what '
        "the converters read, each later bar what the step kept; hover a segment for its count.</p>"
        + "<h3>By source</h3>" + svg.stacked(by("source"), names, "rows by source after each step")
        + svg.legend(names)
        + "<h3>By source kind</h3>" + svg.stacked(by("kind"), kinds, "rows by source kind after each step")
        + svg.legend(kinds)
        + "<h3>Training rows per source</h3>" + svg.stacked(train, train_keys, "sft and dpo rows per source")
        + svg.legend(train_keys)
    )


def funnel(report: dict) -> str:
    """Rows in and kept per step, overall and per source, with every drop reason."""
    steps = order.steps(report)
    totals = report["steps"]
    chart = svg.hbars([("loaded", totals[steps[0]]["in"])] + [(s, totals[s]["kept"]) for s in steps],
                      "rows kept after each step")
    reasons = sorted({r for s in steps for r in totals[s]["dropped"]})
    reason_rows = [[f'<span class="chip c-{reason_category(r)}">{escape(r)}</span>']
                   + [f"{totals[s]['dropped'].get(r, 0):,}" if totals[s]["dropped"].get(r) else "" for s in steps]
                   + [f"{sum(totals[s]['dropped'].get(r, 0) for s in steps):,}"] for r in reasons]
    per_source = []
    for name, info in order.sources(report):
        cells = []
        for step in steps:
            s = info["steps"][step]
            lost = s["in"] - s["kept"]
            cells.append(f"{s['kept']:,}" + (f"<span class=\"drop\">−{lost:,}</span>" if lost > 0 else ""))
        chips = "".join(_chips(info["steps"][s]["dropped"], f"{s}: ") for s in steps)
        per_source.append([escape(name), f"{info['steps'][steps[0]]['in']:,}", *cells, chips or "—"])
    numeric = set(range(1, len(steps) + 2))
    return (
        chart
        + "<h3>Dropped rows by reason and step</h3>"
        + (_table(["reason", *map(escape, steps), "total"], reason_rows, numeric)
           if reasons else '<p class="note">No row was dropped.</p>')
        + "<h3>Per source: rows kept after each step</h3>"
        + _table(["source", "in", *map(escape, steps), "dropped by reason"], per_source, numeric)
    )


def _length_cell(lengths, label: str) -> str:
    if lengths is None or not lengths.rows:
        return '<span class="muted">—</span>'
    return (svg.histogram(lengths.counts.tolist(), EDGES, label)
            + f'<span class="stat">mean {lengths.mean:,.0f} · max {lengths.longest:,} · n {lengths.rows:,}</span>')


def lengths(tables: dict[str, TableStats], token_note: str | None) -> str:
    """Histograms of character (and token) lengths of every text field, per source and per format."""
    parts = ['<p class="note">Character lengths of every row, in power-of-two bins (hover a bar for its range '
             "and count)."
             + (f" Token lengths: {escape(token_note)}." if token_note else "") + "</p>"]
    for kind, stats in tables.items():
        for by in ("source", "format"):
            groups = stats.groups(by)
            parts.append(f"<h3>{kind} rows by {by}</h3>")
            if not groups:
                parts.append('<p class="note">No rows.</p>')
                continue
            head = [by]
            for name in stats.fields:
                head.append(f"{name} (chars)")
                if stats.tokens:
                    head.append(f"{name} (tokens)")
            rows = []
            for group in groups:
                row = [escape(group)]
                for name in stats.fields:
                    row.append(_length_cell(stats.chars.get((by, group, name)), f"{group} {name} characters"))
                    if stats.tokens:
                        row.append(_length_cell(stats.tokens.get((by, group, name)), f"{group} {name} tokens"))
                rows.append(row)
            parts.append(_table(head, rows))
    return "".join(parts)


def _share(value: float) -> str:
    return f"{100 * value:.2f}%"


def mix_section(report: dict) -> str:
    """Per weighted source: weight, requested share, achieved rows and tokens (and their shares)."""
    mix = report.get("mix")
    if not mix:
        return '<p class="note">No source sets a <code>weight</code>: every source keeps its own size.</p>'
    unit = mix["unit"]
    share = f"{unit[:-1]}_share"
    budget = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in mix["budget"].items())
    rows = [[escape(name), f"{s['weight']:g}", _share(s["requested_share"]), f"{s['rows']:,}", _share(s["row_share"]),
             f"{s[unit]:,}", _share(s[share]), f"{s['available_rows']:,}", f"{s['oversampled']:,}"]
            for name, s in mix["sources"].items()]
    return (f'<p class="note">Mix size: {escape(budget)}. Shares are of the weighted sources only; sources '
            f"without a weight come on top. {escape(unit.capitalize())} are counted on the records.</p>"
            + _table(["source", "weight", "requested share", "rows", "row share", escape(unit), f"{escape(unit)} share",
                      "rows available", "oversampled"], rows, set(range(1, 9))))


def _spread_cells(spread: dict) -> list[str]:
    return [f"{spread['sum']:,}", f"{spread['p50']:,.0f}", f"{spread['p95']:,.0f}", f"{spread['max']:,}"]


def token_section(report: dict) -> str:
    """Prompt and response lengths per source, format and kind; truncation share; DPO length bias."""
    tokens = report.get("tokens")
    if not tokens:
        return '<p class="note">No token statistics in this report.</p>'
    unit = tokens["unit"]
    how = (f"tokenizer <code>{escape(tokens['tokenizer'])}</code>, no special tokens" if tokens["tokenizer"]
           else "<b>no tokenizer configured: whitespace-separated words are counted instead of tokens</b>")
    parts = [f'<p class="note">Every training row, in {escape(unit)} ({how}). Truncated: prompt plus the longer '
             f"response over <code>max_seq_length</code> = {tokens['max_seq_length']:,}. Chosen / rejected: mean "
             "chosen length over mean rejected length (length bias of a preference source).</p>"]
    head = ["rows", *(f"{side} {stat}" for side in ("prompt", "response") for stat in ("sum", "p50", "p95", "max")),
            "truncated"]
    for by in ("source", "format", "kind"):
        groups = tokens[f"by_{by}"]
        bias = by == "source" and any("chosen_rejected_ratio" in g for g in groups.values())
        rows = [[escape(name), f"{g['rows']:,}", *_spread_cells(g["prompt"]), *_spread_cells(g["response"]),
                 _share(g["truncated_share"])] + ([str(g.get("chosen_rejected_ratio", "")) or "—"] if bias else [])
                for name, g in groups.items()]
        parts.append(f"<h3>By {by}</h3>" + _table([by, *head] + (["chosen / rejected"] if bias else []), rows,
                                                  set(range(1, len(head) + 2))))
    return "".join(parts)


def contamination(report: dict) -> str:
    """Removals per source x benchmark, and the top matched pairs side by side."""
    dec = report["decontamination"]
    by_source = dec["by_source"]
    if not dec["removed"]:
        return '<p class="note">No training item matched a benchmark item.</p>'
    benchmarks = sorted({b for counts in by_source.values() for b in counts})
    top = max(n for counts in by_source.values() for n in counts.values())
    rows = []
    for source in sorted(by_source):
        cells = [escape(source)]
        for bench in benchmarks:
            n = by_source[source].get(bench, 0)
            shade = f' style="background:rgba(207,34,46,{0.08 + 0.5 * n / top:.2f})"' if n else ""
            cells.append(f'<span{shade} class="heatcell">{n:,}</span>' if n else "")
        cells.append(f"{sum(by_source[source].values()):,}")
        rows.append(cells)
    pairs = []
    for r in dec["top"]:
        pairs.append([
            f"{escape(r['source'])}<br><span class=\"muted\">{escape(str(r.get('id', '')))}</span>",
            f"{escape(r['benchmark'])} #{escape(str(r.get('item_index', '')))}",
            escape(str(r.get("detector", ""))), escape(f"{float(r.get('score', 0)):.3f}"),
            f'<div class="pair"><pre class="box">{visible(r.get("train_text") or "")}</pre>'
            f'<pre class="box">{visible(r.get("item_text") or "")}</pre></div>',
        ])
    return (
        f"<p><b>{dec['removed']:,}</b> training items removed as matches of benchmark items.</p>"
        + _table(["source", *map(escape, benchmarks), "total"], rows, set(range(1, len(benchmarks) + 2)))
        + coverage_table(dec)
        + f"<h3>Top {len(pairs)} matches by score: training text (left) vs benchmark item (right)</h3>"
        + _table(["source / id", "benchmark item", "detector", "score", "training text | benchmark item"], pairs, {3})
    )


def coverage_table(dec: dict) -> str:
    """Per source x benchmark, the share of the benchmark's items found in the source (Tulu 3's coverage),
    and the sources dropped whole for a coverage above ``drop_source_above``."""
    shares = dec.get("coverage") or {}
    if not shares:
        return ""
    benchmarks = sorted({b for row in shares.values() for b in row})
    rows = [[escape(s), *(f"{100 * shares[s][b]:.2f}%" if b in shares[s] else "" for b in benchmarks)]
            for s in sorted(shares)]
    dropped = dec.get("dropped_sources") or {}
    note = (f"<p>Sources dropped whole (coverage above {100 * dec['drop_source_above']:.2f}%): "
            + ", ".join(f"{escape(s)} ({n:,} rows)" for s, n in dropped.items()) + "</p>") if dropped else ""
    return ("<h3>Benchmark coverage: share of each benchmark's items found in each source</h3>"
            + _table(["source", *map(escape, benchmarks)], rows, set(range(1, len(benchmarks) + 1))) + note)


def _examples(rows: list[dict]) -> list[dict]:
    """Up to :data:`EXAMPLES_PER_FORMAT` rows, preferring distinct sources, in sample (id) order."""
    picked, seen = [], set()
    for row in rows:
        if row["source"] not in seen:
            picked.append(row)
            seen.add(row["source"])
    picked += [row for row in rows if row not in picked]
    return picked[:EXAMPLES_PER_FORMAT]


def _example(kind: str, row: dict) -> str:
    """One row as trained: sft input then output in one block (output shaded); dpo prompt, then chosen | rejected."""
    head = f'<h4>{escape(row["source"])} <span class="muted">{escape(row["id"])}</span></h4>'
    if kind == "sft":
        text = (f'<span class="in">{visible(row["input"] or "").removesuffix(END)}</span>'
                f'<span class="out">{visible(row["output"] or "")}</span>')
        return (f'<div class="sample">{head}<div class="field">input, then output (shaded)</div>'
                f'<pre class="box">{text}</pre></div>')
    pair = "".join(f'<div><div class="field">{name}</div><pre class="box">{visible(row[name] or "")}</pre></div>'
                   for name in ("chosen", "rejected"))
    return (f'<div class="sample">{head}<div class="field">prompt</div><pre class="box">{visible(row["prompt"] or "")}'
            f'</pre><div class="pair">{pair}</div></div>')


def samples(tables: dict[str, TableStats]) -> str:
    """A few rows per format exactly as trained, whitespace made visible."""
    parts = ['<p class="note">Rows exactly as stored and trained on: <span class="ws">↵</span> marks a newline, '
             '<span class="ws">·</span> a trailing space, <span class="ws">→</span> a tab, '
             f'{END} the end of the text.</p>']
    for kind, stats in tables.items():
        for fmt in stats.groups("format"):
            parts.append(f"<h3>{kind} · {escape(fmt)}</h3>")
            parts += [_example(kind, row) for row in _examples(stats.samples.get(("format", fmt), []))]
    return "".join(parts)


def timings(report: dict) -> str:
    """Wall time of each phase, and seconds per source and step (cached steps marked)."""
    steps = order.steps(report)
    phases = [(k, v) for k, v in report["timings"].items() if k != "total"]
    phases.sort(key=lambda kv: (min((steps.index(s) for s in kv[0].split("+") if s in steps), default=len(steps)),
                                kv[0]))
    rows = []
    for name, info in order.sources(report):
        rows.append([escape(name)] + [svg.number(info["steps"][s]["seconds"])
                                      + (' <span class="chip">cached</span>' if info["steps"][s].get("cached") else "")
                                      for s in steps])
    rows.append(["<b>all sources</b>"] + [f"<b>{svg.number(report['steps'][s]['seconds'])}</b>" for s in steps])
    return (
        f"<p>Total wall time <b>{svg.number(report['timings']['total'])} s</b>.</p>"
        + svg.hbars(phases, "wall time per phase", suffix=" s")
        + "<h3>Seconds per source and step</h3>"
        + _table(["source", *map(escape, steps)], rows, set(range(1, len(steps) + 1)))
    )


def recipe(report: dict) -> str:
    """The recipe that produced the build, as YAML (validated, defaults filled in)."""
    config = report["recipe_config"]
    fields = list(Recipe.model_fields)
    config = {k: config[k] for k in sorted(config, key=lambda k: (fields.index(k) if k in fields else len(fields), k))}
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)
    return ('<p class="note">As validated, with every default filled in (top-level keys in recipe order); '
            "save it as a .yaml file to rebuild.</p>"
            f'<pre class="recipe">{escape(text)}</pre>')


def render_html(report: dict, tables: dict[str, TableStats], token_note: str | None = None) -> str:
    """The whole report page."""
    body = [
        header(report),
        _section("overview", "Sources", overview(report) + sources_provenance(report)),
        _section("composition", "Composition of the mix", composition(report)),
        _section("mix", "Mix: requested vs achieved shares", mix_section(report)),
        _section("funnel", "Funnel: rows kept and dropped per step", funnel(report)),
        _section("lengths", "Length distributions", lengths(tables, token_note)),
        _section("tokens", "Token statistics", token_section(report)),
        _section("contamination", "Benchmark contamination", contamination(report)),
        _section("samples", "Sample rows per format", samples(tables)),
        _section("timings", "Timings", timings(report)),
        _section("recipe", "Recipe", recipe(report)),
    ]
    nav = "".join(f'<a href="#{key}">{title}</a>' for key, title in SECTIONS)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>bagel report: {escape(report['recipe'])}</title><style>{CSS}</style></head>"
        f"<body><nav><b>bagel</b>{nav}</nav><main>" + "".join(body)
        + f'<p class="note">bagel {escape(report["bagel_version"])} · code {escape(report["code_version"])}</p>'
        "</main></body></html>\n"
    )
