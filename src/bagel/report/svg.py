"""Inline SVG charts generated in Python: horizontal bars, 100% stacked bars, small histograms.

Every function returns one ``<svg>`` element as a string; labels are HTML-escaped here, so
callers pass raw data. No script, no external asset: the charts render wherever the HTML does.
"""

from __future__ import annotations

from html import escape

LABEL_W = 190
ROW_H = 22
BAR_H = 15
FONT = 12


def color(index: int) -> str:
    """A distinct, stable colour for the ``index``-th series (golden-angle hues)."""
    return f"hsl({(212 + index * 137.508) % 360:.1f},58%,52%)"


def number(value: float) -> str:
    """A count with thousands separators, or seconds with up to three decimals."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.3f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def hbars(items: list[tuple[str, float]], label: str, width: int = 760, suffix: str = "") -> str:
    """One horizontal bar per ``(label, value)``, scaled to the largest value, value printed after the bar."""
    top = max((v for _, v in items), default=0) or 1
    plot = width - LABEL_W - 90
    body = []
    for i, (name, value) in enumerate(items):
        y = i * ROW_H + 4
        w = max(value / top * plot, 1 if value else 0)
        body.append(_text(LABEL_W - 8, y + BAR_H - 3, name, "end"))
        body.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" rx="2" fill="{color(0)}">'
                    f"<title>{escape(name)}: {escape(number(value))}{escape(suffix)}</title></rect>")
        body.append(_text(LABEL_W + w + 6, y + BAR_H - 3, number(value) + suffix, cls="value"))
    return _svg(width, len(items) * ROW_H + 8, body, label)


def stacked(rows: list[tuple[str, list[tuple[str, int]]]], keys: list[str], label: str, width: int = 960) -> str:
    """One 100% stacked bar per ``(label, [(key, value)])``, coloured by the key's index in ``keys``; total after."""
    plot = width - LABEL_W - 90
    body = []
    for i, (name, segments) in enumerate(rows):
        y = i * ROW_H + 4
        total = sum(v for _, v in segments)
        body.append(_text(LABEL_W - 8, y + BAR_H - 3, name, "end"))
        body.append(f'<rect x="{LABEL_W}" y="{y}" width="{plot}" height="{BAR_H}" class="track"/>')
        x = float(LABEL_W)
        for key, value in segments:
            if not value:
                continue
            w = value / total * plot
            share = f"{value / total:.1%}"
            body.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{BAR_H}" fill="{color(keys.index(key))}">'
                        f"<title>{escape(name)} · {escape(key)}: {value:,} ({share})</title></rect>")
            x += w
        body.append(_text(LABEL_W + plot + 6, y + BAR_H - 3, f"{total:,}", cls="value"))
    return _svg(width, len(rows) * ROW_H + 8, body, label)


def legend(keys: list[str]) -> str:
    """The HTML legend of a :func:`stacked` chart's keys."""
    items = "".join(f'<span><i style="background:{color(i)}"></i>{escape(k)}</span>' for i, k in enumerate(keys))
    return f'<div class="legend">{items}</div>'


def histogram(counts: list[int], edges: list[int], label: str, width: int = 240, height: int = 64) -> str:
    """A small column chart of binned ``counts`` (bin i is ``edges[i]`` up to the next edge; the last is open)."""
    top = max(counts, default=0) or 1
    n = len(counts)
    step = width / n
    plot_h = height - 16
    body = [f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" class="axis"/>']
    for i, count in enumerate(counts):
        h = count / top * (plot_h - 2)
        hi = f"{edges[i + 1] - 1:,}" if i + 1 < n else "∞"
        body.append(f'<rect x="{i * step + 1:.1f}" y="{plot_h - h:.1f}" width="{step - 2:.1f}" height="{h:.1f}" '
                    f'fill="{color(3)}"><title>{edges[i]:,}–{hi}: {count:,}</title></rect>')
    for i in range(0, n, 3):
        body.append(_text(i * step + 1, height - 3, _short(edges[i]), cls="tick"))
    return _svg(width, height, body, label)


def _short(value: int) -> str:
    return f"{value // 1024}K" if value >= 1024 else str(value)
