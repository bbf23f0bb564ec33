"""Rendering throughput: input rows/s, output rows/s and peak RSS for modes random, slices and every.

Rates are per wall-clock second, single process; CPU seconds are shown too (a loaded machine
shows wall >> CPU). Slices includes its prepare() pass over all ids.

Usage: python bench/render.py N   (N synthetic bagel-shaped records from bench/synth.py, default 100000)
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import synth  # noqa: E402

from bagel.formats import FormatOptions, Renderer  # noqa: E402
from bagel.records import record, to_table  # noqa: E402

BATCH = 10_000


def unified(row: dict) -> dict:
    """A synth row (the original's intermediate schema) as a unified record."""
    common = {"id": row["id"], "source": row["source"], "confidence": 2}
    if row["conversations"]:
        conv = row["conversations"]
        system = conv[0]["value"] if conv[0]["from"] == "system" else None
        return record("sft", conversations=conv, system=system, **common)
    if row["prompt"]:
        return record("dpo", prompt=row["prompt"], chosen=row["chosen"], rejected=row["rejected"], **common)
    return record("text", text=row["text"], **common)


def main(n: int) -> None:
    """Time each mode over the same N records, in batches of 10,000."""
    rows = [unified(r) for r in synth.records(n)]
    batches = [to_table(rows[i : i + BATCH]).to_batches()[0] for i in range(0, n, BATCH)]
    del rows
    ids = [i for b in batches for i in b.column("id").to_pylist()]
    print(f"{n} records, batches of {BATCH}")
    for mode in ("random", "slices", "every"):
        renderer = Renderer(FormatOptions(mode=mode), seed=42)
        start, cpu_start = time.perf_counter(), time.process_time()
        renderer.prepare(ids)
        out = sum(sft.num_rows + dpo.num_rows for sft, dpo, _ in map(renderer.render_batch, batches))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{mode:>7}: {n / seconds:>9,.0f} input rows/s  {out / seconds:>9,.0f} output rows/s  "
            f"({out:,} rows in {seconds:.2f} s wall, {cpu:.2f} s CPU)  peak RSS so far {rss:,.0f} MiB"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
