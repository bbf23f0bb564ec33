"""Rendering alone, as whole processes: ``bagel format --mode random`` against bagel v0.3's ``format_io``.

Both sides do the same work on the same N bench/synth.py rows: read a JSON Lines file, render
every item in one randomly chosen prompt format (multi-turn chats expanded to one row per
response, DPO prompts rendered, plain text passed through) and write sft/dpo parquet files.
Each side is one process timed from start to exit; its peak RSS is the larger of the kernel's
``ru_maxrss`` for the process (what ``/usr/bin/time`` reports) and the largest sum of RSS over
the process and its children sampled every 20 ms with psutil.

- ours: ``bagel format records.jsonl --out DIR --mode random`` over the rows as unified
  records (JSON Lines, one record per line);
- the original (only with ``--original PATH``, a checkout of jondurbin/bagel at v0.3, e.g.
  commit 03fc580, the last v0.3 commit that picks ``random.choice`` of the four formats):
  ``Dataset.from_json(rows.jsonl)`` of the rows in the original's own schema (bench/synth.py),
  then ``format_io(tokenizer, dataset)``, then ``to_parquet`` of both outputs, in a fresh
  ``HF_DATASETS_CACHE``. Its module ``bagel.data`` is imported from the checkout with two
  stand-ins for what ``format_io`` does not use: ``bagel.data_sources`` (its loaders and
  decontamination, importing faiss, requests and ~30 source modules) and, when it is not
  installed, ``loguru``'s ``logger``. The tokenizer is a stand-in with ``bos_token="<s>"`` and
  ``eos_token="</s>"`` (the original loads mistral-7b's from the hub: the same two strings).
  Nothing of the original is kept in this repository: ``git clone https://github.com/jondurbin/bagel
  /tmp/bagel-v0.3 && git -C /tmp/bagel-v0.3 checkout 03fc580``.

Usage: python bench/render_vs_original.py [N ...] [--original PATH] [--workdir DIR] [--repeat R]
(default N: 20000 200000). Figures depend on the machine and its load: the load average at the
start is printed, and CPU seconds beside wall seconds.

Measured with ``--repeat 2`` on a shared 2-core box (load average 6 at the start, so wall is
about twice CPU), against commit 03fc580:

    rows     side  wall s  CPU s  peak MiB
    20,000   ours    3.55   1.49       219
    20,000   v0.3   36.46  16.22       631    10.3x wall, 10.9x CPU; RSS 0.35x
    200,000  ours   11.21   6.30       258
    200,000  v0.3  121.90  65.44     1,366    10.9x wall, 10.4x CPU; RSS 0.19x

Ours alone at 200k at load 3.4: 6.27 s wall, 5.29 s CPU, 277 MiB. Our CPU at 200k, by stage:
reading (Arrow's JSON parser) 1.5 s, rendering (Python, per item) 3.0 s, writing parquet 1.25 s,
start-up 0.5 s; reading and writing run on threads beside the rendering.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import psutil

SAMPLE_S = 0.02

# Runs in the original's process, with the checkout first on sys.path: argv = rows.jsonl out_dir seed.
ORIGINAL_RUNNER = """
import importlib.util, random, sys, types
if importlib.util.find_spec("loguru") is None:
    import logging
    sys.modules["loguru"] = types.SimpleNamespace(logger=logging.getLogger("bagel-v0.3"))
stand_in = types.ModuleType("bagel.data_sources")
stand_in.load_datasets = stand_in.decontaminate = None  # not used by format_io
sys.modules["bagel.data_sources"] = stand_in
from datasets import Dataset
from bagel.data import format_io
rows, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(seed)
tokenizer = types.SimpleNamespace(bos_token="<s>", eos_token="</s>")
sft, dpo = format_io(tokenizer, Dataset.from_json(rows))
sft.to_parquet(out + "/sft.parquet")
dpo.to_parquet(out + "/dpo.parquet")
print(f"sft: {len(sft)} dpo: {len(dpo)}")
"""


def write_inputs(n: int, folder: Path) -> None:
    """N synth rows as ``rows.jsonl`` (the original's schema) and ``records.jsonl`` (unified records)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import synth
    from render import unified

    with (folder / "rows.jsonl").open("w") as rows_out, (folder / "records.jsonl").open("w") as records_out:
        for row in synth.records(n):
            rows_out.write(json.dumps(row) + "\n")
            records_out.write(json.dumps(unified(row)) + "\n")


class Run(NamedTuple):
    """One process: wall seconds from start to exit, CPU seconds (user + system), peak RSS MiB, its stdout."""

    seconds: float
    cpu: float
    mib: float
    output: str


def best(runs: list[Run]) -> Run:
    """The fastest wall and CPU times of repeated runs, with the highest peak RSS."""
    return Run(min(r.seconds for r in runs), min(r.cpu for r in runs), max(r.mib for r in runs), runs[0].output)


def timed(command: list[str], env: dict[str, str]) -> Run:
    """Run ``command`` and measure it (see :class:`Run`)."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, text=True)
        parent, tree_peak = psutil.Process(process.pid), 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            try:
                tree_peak = max(tree_peak, sum(p.memory_info().rss for p in (parent, *parent.children(True))))
            except psutil.Error:
                pass
            time.sleep(SAMPLE_S)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0), stderr.seek(0)
        if process.returncode:
            raise SystemExit(f"{command[:3]} failed ({process.returncode}):\n{stderr.read()[-3000:]}")
        output = stdout.read()
    return Run(seconds, usage.ru_utime + usage.ru_stime, max(tree_peak, usage.ru_maxrss * 1024) / 2**20, output)


def run_ours(records: Path, out: Path, seed: int) -> Run:
    """Time ``bagel format records --mode random`` as a process of this interpreter's ``bagel``."""
    bagel = shutil.which("bagel", path=str(Path(sys.executable).parent)) or "bagel"
    command = [sys.executable, bagel, "-q", "format", str(records), "--out", str(out), "--mode", "random",
               "--seed", str(seed)]
    return timed(command, dict(os.environ))


def run_original(checkout: Path, rows: Path, out: Path, seed: int) -> Run:
    """Time bagel v0.3's ``format_io`` over ``rows`` (see the module docstring) in a fresh datasets cache."""
    with tempfile.TemporaryDirectory(prefix="hf-datasets-") as cache:
        env = dict(os.environ, PYTHONPATH=str(checkout), HF_DATASETS_CACHE=cache, HF_HUB_OFFLINE="1",
                   HF_DATASETS_DISABLE_PROGRESS_BARS="1")
        command = [sys.executable, "-c", ORIGINAL_RUNNER, str(rows), str(out), str(seed)]
        return timed(command, env)


def main() -> None:
    """Write the inputs, time each side per N, print them side by side with the ratios.

    The inputs are written by a child process: Linux carries the peak RSS of the process that
    spawns a command into that command's ``ru_maxrss``, so this one stays small.
    """
    if sys.argv[1:2] == ["--write-inputs"]:
        return write_inputs(int(sys.argv[2]), Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000, 200_000])
    parser.add_argument("--original", type=Path, help="checkout of jondurbin/bagel v0.3 (holding bagel/data.py)")
    parser.add_argument("--workdir", type=Path, help="where inputs and outputs go (default: a temporary dir)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest is shown (RSS: highest)")
    args = parser.parse_args()
    if args.original and not (args.original / "bagel" / "data.py").is_file():
        raise SystemExit(f"{args.original}: no bagel/data.py (expected a checkout of jondurbin/bagel v0.3)")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="render-vs-original-"))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; best of {args.repeat}")
    print(f"{'rows':>9}  {'side':>4}  {'wall s':>7}  {'CPU s':>7}  {'peak MiB':>8}")
    for n in args.sizes:
        folder = workdir / str(n)
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--write-inputs", str(n), str(folder)], check=True)
        rows, records = folder / "rows.jsonl", folder / "records.jsonl"
        (folder / "ours").mkdir(exist_ok=True)
        (folder / "original").mkdir(exist_ok=True)
        sides = {"ours": lambda: run_ours(records, folder / "ours", args.seed)}
        if args.original:
            sides["v0.3"] = lambda: run_original(args.original.resolve(), rows, folder / "original", args.seed)
        results = {side: best([run() for _ in range(args.repeat)]) for side, run in sides.items()}
        for side, result in results.items():
            print(f"{n:>9,}  {side:>4}  {result.seconds:>7.2f}  {result.cpu:>7.2f}  {result.mib:>8,.0f}    "
                  + " | ".join(result.output.strip().split("\n")))
        if args.original:
            ours, original = results["ours"], results["v0.3"]
            print(f"{n:>9,}  v0.3/ours: wall {original.seconds / ours.seconds:.1f}x, CPU {original.cpu / ours.cpu:.1f}x; "
                  f"ours/v0.3 peak RSS {ours.mib / original.mib:.2f}x", flush=True)
    if not args.workdir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
