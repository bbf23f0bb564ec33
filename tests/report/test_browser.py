"""Open report.html in a real headless Chromium: it loads offline, logs no console error, and draws every chart.

Skipped where no chromium binary is installed (``apt-get install chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from bagel.report import write_views

# appended to a copy of the page: records the drawn size of every chart and of the bars inside it
MEASURE = """<script>
const sizes = [...document.querySelectorAll('svg')].map(s => {
  const r = s.getBoundingClientRect();
  const bars = [...s.querySelectorAll('rect')].filter(b => b.getBoundingClientRect().width > 0).length;
  return [Math.round(r.width), Math.round(r.height), bars];
});
document.body.setAttribute('data-sizes', JSON.stringify(sizes));
</script>"""
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary")


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with no network side channels and console logging on stderr."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


def test_report_renders_in_chromium(build_dir, tmp_path):
    write_views(build_dir)
    page = build_dir / "report.html"
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    for marker in ("Uncaught", "ERROR:CONSOLE", "net::ERR"):
        assert marker not in dom.stderr
    html = page.read_text(encoding="utf-8")
    assert dom.stdout.count("<svg ") == html.count("<svg ") == 24
    assert dom.stdout.count("<rect ") == html.count("<rect ")
    assert "bagel build report: tiny" in dom.stdout
    measured = tmp_path / "measured.html"
    measured.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    run = chromium(tmp_path, "--dump-dom", measured.as_uri())
    sizes = json.loads(re.search(r'data-sizes="([^"]*)"', run.stdout).group(1).replace("&quot;", '"'))
    assert len(sizes) == 24
    assert all(width > 100 and height > 20 and bars > 0 for width, height, bars in sizes), sizes
    shot = tmp_path / "report.png"
    run = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,3000", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
