"""Whole-build and rendering-step throughput and peak memory on synthetic bagel-shaped rows.

    python bench/build.py 20000 [200000 2000000] [--modes random,every] [--workers 1,2] [--parts 8]
                          [--engines local,ray] [--presets ngram,default]

For each N: writes N rows of bench/synth.py (the workload the original was timed on) as
``--parts`` parquet files, builds them with ``bagel build`` (dedup, refusal filter,
decontamination against the bundled benchmarks with each of ``--presets``, render, write) in a
subprocess per ``--workers`` value and engine, and prints input rows/s and the peak memory of the
build's whole process tree (RSS summed over its processes, and PSS, which splits shared pages) and
of the build process alone (the driver: with ``--engines ray`` the Ray processes it starts are its
children, so the tree holds the workers and the driver column shows what the driver itself
carries); with several engines, whether each engine's records/sft/dpo files are byte for byte the
first engine's; with several presets, each preset's whole-build time over the n-gram preset's.
Then it times the rendering step alone in this process (input rows/s, output rows/s, peak RSS). Reference, the
original's rendering step on this machine kind at 20,000 rows: ~2,800 input rows/s and
360 MB with one random format per item; ~1,100 rows/s and 450 MB with 3 of 4 formats.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from synth import record  # noqa: E402

from bagel.memory import iter_parquet  # noqa: E402

CHUNK = 50_000


def write_synth(n: int, parts: int, folder: Path) -> list[Path]:
    """Write ``n`` synthetic rows as ``parts`` parquet files (streamed, bounded memory)."""
    rng = random.Random(0)
    writers = [pq.ParquetWriter(folder / f"synth{p}.parquet", _schema()) for p in range(parts)]
    buffers: list[list[dict]] = [[] for _ in range(parts)]
    for i in range(n):
        buffers[i % parts].append(record(rng, i))
        if len(buffers[i % parts]) >= CHUNK:
            writers[i % parts].write_table(pa.Table.from_pylist(buffers[i % parts], schema=_schema()))
            buffers[i % parts] = []
    for writer, buffer in zip(writers, buffers):
        if buffer:
            writer.write_table(pa.Table.from_pylist(buffer, schema=_schema()))
        writer.close()
    return [folder / f"synth{p}.parquet" for p in range(parts)]


def _schema() -> pa.Schema:
    turn = pa.struct([("from", pa.string()), ("value", pa.string())])
    return pa.schema([("id", pa.string()), ("source", pa.string()), ("text", pa.string()),
                      ("conversations", pa.list_(turn)), ("prompt", pa.string()), ("chosen", pa.string()),
                      ("rejected", pa.string())])


def _tree_memory(proc: psutil.Process) -> tuple[int, int, int]:
    """(RSS, PSS) summed over ``proc`` and its children, and ``proc``'s own RSS. RSS counts a page shared by
    several processes (libraries, the memory-mapped n-gram index) once per process; PSS splits it."""
    rss = pss = own = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        rss, pss = rss + info.rss, pss + getattr(info, "pss", info.rss)
        own = info.rss if p is proc else own
    return rss, pss, own


def time_build(files: list[Path], mode: str, workers: int, folder: Path, engine: str = "local",
               preset: str = "ngram") -> tuple[float, int, int, int]:
    """Run ``bagel build`` on the synthetic files; (seconds, peak RSS and peak PSS of the process tree, peak RSS
    of the build process alone)."""
    recipe = {
        "name": f"bench-{mode}",
        "seed": 42,
        "sources": [{"name": f.stem, "shape": "records", "path": str(f), "confidence": 2, "refusal": "responses"}
                    for f in files],
        "cap": {"enabled": False},
        "decontamination": {"preset": preset},
        "format": {"mode": mode},
    }
    folder.mkdir(exist_ok=True)
    path = folder / f"bench-{mode}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    cmd = [sys.executable, "-m", "bagel.cli", "--quiet", "build", str(path), "--out", str(folder / f"out-{mode}"),
           "--workers", str(workers), "--engine", engine]
    started = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL)
    peak_rss = peak_pss = peak_own = 0
    while proc.poll() is None:
        rss, pss, own = _tree_memory(proc)
        peak_rss, peak_pss, peak_own = max(peak_rss, rss), max(peak_pss, pss), max(peak_own, own)
        time.sleep(0.1)
    if proc.returncode:
        raise SystemExit(f"build failed: {proc.returncode}")
    return time.perf_counter() - started, peak_rss, peak_pss, peak_own


def _same_bytes(out: Path, reference: Path) -> str:
    names = ("records.parquet", "sft.parquet", "dpo.parquet")
    return "yes" if all((out / n).read_bytes() == (reference / n).read_bytes() for n in names) else "NO"


def time_render(records_path: Path, mode: str) -> tuple[int, int, float]:
    """Render a records.parquet in this process: (input rows, output rows, seconds)."""
    from bagel.formats import FormatOptions, Renderer

    renderer = Renderer(FormatOptions(mode=mode), seed=42)
    if mode == "slices":
        renderer.prepare(pq.read_table(records_path, columns=["id"]).column("id").to_pylist())
    rows_in = rows_out = 0
    started = time.perf_counter()
    for batch in iter_parquet(records_path, 4096):
        sft, dpo, _ = renderer.render_batch(batch)
        rows_in += batch.num_rows
        rows_out += sft.num_rows + dpo.num_rows
    return rows_in, rows_out, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000])
    parser.add_argument("--modes", default="random,every")
    parser.add_argument("--workers", default="2", help="comma-separated: one build per value")
    parser.add_argument("--parts", type=int, default=8)
    parser.add_argument("--engines", default="local", help="comma-separated: local, ray")
    parser.add_argument("--presets", default="ngram", help="comma-separated decontamination presets")
    args = parser.parse_args()
    print(f"{'N':>9} {'mode':>7} {'workers':>7} {'engine':>6} {'preset':>8} | {'build s':>8} {'build rows/s':>12} "
          f"{'peak RSS MB':>11} {'peak PSS MB':>11} {'driver MB':>9} {'same':>4} | {'render in/s':>11} "
          f"{'render out/s':>12}")
    took: dict[tuple, float] = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            files = write_synth(n, args.parts, folder)
            for mode in args.modes.split(","):
                for workers, preset in [(int(w), p) for w in args.workers.split(",") for p in args.presets.split(",")]:
                    reference = None
                    for engine in args.engines.split(","):
                        build_dir = folder / f"w{workers}-{engine}-{preset}"
                        seconds, rss, pss, own = time_build(files, mode, workers, build_dir, engine, preset)
                        took[(n, mode, workers, engine, preset)] = seconds
                        out = build_dir / f"out-{mode}"
                        same = "-" if reference is None else _same_bytes(out, reference)
                        render = ""
                        if reference is None:
                            rows_in, rows_out, render_s = time_render(out / "records.parquet", mode)
                            render = f"{rows_in / render_s:>11,.0f} {rows_out / render_s:>12,.0f}"
                            reference = out
                        print(f"{n:>9} {mode:>7} {workers:>7} {engine:>6} {preset:>8} | {seconds:>8.1f} "
                              f"{n / seconds:>12,.0f} {rss / 2**20:>11,.0f} {pss / 2**20:>11,.0f} {own / 2**20:>9,.0f} "
                              f"{same:>4} | {render}", flush=True)
    for (n, mode, workers, engine, preset), seconds in took.items():
        if preset != "ngram" and (n, mode, workers, engine, "ngram") in took:
            print(f"{n:,} rows, {mode}, {workers} workers, {engine}: preset {preset} whole build = "
                  f"{seconds / took[(n, mode, workers, engine, 'ngram')]:.2f}x the ngram preset's")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this bench process (rendering alone + data generation): {rss:,.0f} MB")


if __name__ == "__main__":
    main()
