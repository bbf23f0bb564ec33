"""The report's stylesheet, inlined into report.html (no external CSS or fonts)."""

CSS = """
:root { --fg:#1f2328; --muted:#656d76; --line:#d8dee4; --bg:#f6f8fa; --accent:#0969da; --bad:#cf222e; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif; color:var(--fg); background:#fff; }
nav { position:sticky; top:0; z-index:2; background:#24292f; padding:0 24px; display:flex; gap:4px; flex-wrap:wrap; }
nav b { color:#fff; padding:10px 12px 10px 0; }
nav a { color:#d0d7de; text-decoration:none; padding:10px 10px; }
nav a:hover { color:#fff; background:#32383f; }
main { max-width:1280px; margin:0 auto; padding:8px 24px 48px; }
section { border-top:1px solid var(--line); padding-top:8px; margin-top:24px; scroll-margin-top:48px; }
h1 { font-size:24px; margin:16px 0 4px; } h2 { font-size:20px; margin:8px 0 12px; } h3 { font-size:15px; margin:18px 0 8px; }
p.note, .muted { color:var(--muted); }
p.warn { color:var(--bad); font-weight:600; }
.meta span { display:inline-block; margin:0 14px 4px 0; color:var(--muted); } .meta code { color:var(--fg); }
.cards { display:flex; gap:12px; flex-wrap:wrap; margin:14px 0; }
.card { border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:140px; background:var(--bg); }
.card b { display:block; font-size:22px; } .card span { color:var(--muted); font-size:12px; }
table { border-collapse:collapse; margin:6px 0 14px; font-size:13px; }
th, td { border-bottom:1px solid var(--line); padding:4px 10px; text-align:left; vertical-align:top; }
th { background:var(--bg); font-weight:600; position:sticky; top:40px; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.heatcell { display:inline-block; padding:0 6px; border-radius:4px; }
.drop { color:var(--bad); font-size:11px; display:block; }
.chip { display:inline-block; border-radius:10px; padding:0 8px; margin:1px 2px; font-size:11px; white-space:nowrap;
        background:#eaeef2; }
.c-duplicate { background:#ddf4ff; } .c-refusal { background:#fff1e5; } .c-malformed { background:#ffebe9; }
.c-contaminated { background:#fbefff; } .c-sampled_out, .c-capped { background:#eaeef2; } .c-other { background:#fff8c5; }
svg.chart { display:block; margin:6px 0; overflow:visible; }
svg text { font:12px -apple-system,"Segoe UI",Helvetica,Arial,sans-serif; fill:var(--fg); }
svg text.value { fill:var(--muted); } svg text.tick { font-size:10px; fill:var(--muted); }
svg .track { fill:#eef1f4; } svg .axis { stroke:#afb8c1; stroke-width:1; }
.legend { display:flex; flex-wrap:wrap; gap:4px 14px; margin:4px 0 12px; font-size:12px; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; }
.stat { color:var(--muted); font-size:11px; white-space:nowrap; }
pre { margin:0; padding:8px 10px; background:var(--bg); border:1px solid var(--line); border-radius:6px;
      font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; white-space:pre-wrap; word-break:break-word; }
pre.box { max-height:320px; overflow:auto; } pre.recipe { max-height:none; }
.ws { color:#bf8700; } .out { background:#dafbe1; } .ws-end { color:#8250df; }
.sample { border:1px solid var(--line); border-radius:8px; padding:8px 12px; margin:10px 0; }
.sample h4 { margin:0 0 6px; font-size:13px; } .sample .field { margin:6px 0 2px; font-size:11px; color:var(--muted);
        text-transform:uppercase; letter-spacing:.04em; }
.pair { display:grid; grid-template-columns:1fr 1fr; gap:10px; }
"""
