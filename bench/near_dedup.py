"""Near-duplicate dedup against exact dedup, and bagel's signatures against rensa and datasketch, on
synthetic bagel-shaped rows.

    python bench/near_dedup.py [N=1000000] [--library-rows 30000]

Writes N rows of bench/synth.py as records (id, kind, conversations, prompt, text) to a temporary
parquet file as a build writes a step's output (zstd, 4,096-row groups; a second file with 1% of the
rows repeated at the end, a third with the first ``--library-rows``), then runs each phase in its own
process and prints seconds, rows/s, peak RSS (the process's own high-water mark) and CPU seconds. What
a build has done before its dedup step happens before the clock starts: the imports (``bagel`` first,
as the CLI, so Arrow uses the system allocator), the recipe, the code hashes of the cache keys and,
with near dedup, loading numba's compiled kernels.

- ``exact``: the dedup step's exact pass alone (``steps.exact_masks``: the id column, the seen-set);
- ``near``: the dedup step's near pass alone, as the local engine runs it (``near.shared_band_keys``: key
  texts, signatures, band keys split into partitions sized to half the build's 512 MB budget, the shared
  keys of each partition, a core each; then the load-order rule), every row live;
- ``exact_step`` / ``near_step``: bagel's dedup step as a build runs it (``steps.dedup_step``) with
  near dedup off / on: exact pass, with near on the near pass alongside it, then the kept rows written
  to the step's output, which only happens when a row is dropped: synth.py's ids are all distinct, so
  exact dedup alone writes nothing. ``*_step_rep``: the same over the N rows + 1% exact repeats, where
  both steps write (as in a real mix, where sources overlap);
- ``bagel`` / ``rensa`` / ``datasketch`` on the ``--library-rows`` file: bagel's near pass; rensa's
  bulk classic MinHash (``digest_matrix_from_flat_token_hashes``, read out with ``to_rows``, its only
  way out of Rust) on the same shingle hashes with bagel's band keys, sketch check and rule;
  datasketch's ``MinHash.update_batch`` + ``MinHashLSH`` query/insert per row with bagel's bands x rows
  (no check of candidates: it drops LSH candidates as they come).

The summary line compares the near pass with the exact pass (the issue's target: at most 2x), in wall
and CPU seconds, and the dedup step with near on against exact only.

Settings: threshold 0.8, num_perm 128, ngram 5 (the recipe defaults).

Measured at N = 1,000,000 on this 2-core box (its speed varies by up to 1.6x from run to run: the
exact pass took 1.4-2.3 s), the signature kernel already compiled (numba compiles it once per
install, about 5 s). One whole run of this script on a quiet stretch:

- passes alone: exact 1.5 s (peak RSS 153 MB, 1.5 s of CPU), near 2.2 s (560 MB, 4.1 s of CPU on 2
  cores, 6 band-key partitions): 1.49x (2.74x in CPU seconds);
- dedup step on synth.py's rows: exact only 1.5 s (it drops nothing, so it writes nothing) vs near on
  3.2 s (528 MB): 2.19x; with 1% exact repeats (both steps write their output): 10.0 s vs 11.2 s
  (610 MB): 1.12x;
- six interleaved runs of each phase, median (fastest): exact pass 1.55 s (1.38), near pass 2.75 s
  (2.46): 1.77x (1.78x); exact step 1.65 s (1.56), near step 3.94 s (3.42): 2.39x (2.19x);
- near copies found: none (LSH pairs synth.py's unlike rows by chance, ~1,700 per million at Jaccard
  0.14-0.34 from its 75-word vocabulary; the sketch check refuses them; datasketch, which has no
  such check, drops 4 of the 30,000 library rows);
- on 30,000 rows: bagel 0.2 s, rensa 0.6 s (its digest matrix leaves Rust only through ``to_rows``,
  Python lists), datasketch 10.2 s (441 MB).

Before (same box): signatures in numpy, under load: passes 4.1 s vs 44.2 s, steps 3.8 s vs 43.1 s
(11.4x). The first numba kernel, near pass after the exact pass: passes 1.5 s vs 3.6 s (2.45x), steps
1.7 s vs 5.3 s (3.19x).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bagel  # noqa: F401 - first, as the CLI imports it: it names Arrow's memory pool (the system allocator)
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from synth import record  # noqa: E402

from bagel.near_dedup import (CHECK_ADD, FALSE_NEGATIVE_WEIGHT, FALSE_POSITIVE_WEIGHT, lsh_params,  # noqa: E402
                              min_agreement, resolve_in_order, shared_members)
from bagel.records import RECORD_SCHEMA  # noqa: E402

CHUNK = 50_000
BATCH = 4096
THRESHOLD, NUM_PERM, NGRAM = 0.8, 128, 5


def write_records(n: int, path: Path, repeats: int = 0) -> None:
    """``n`` rows of bench/synth.py as unified records, then its first ``repeats`` rows again, written as a
    build writes a step's output (``cache.write_parquet``: zstd, its row groups), streamed."""
    from bagel.pipeline import cache

    def tables():
        for count in (n, repeats):
            rng = random.Random(0)
            for start in range(0, count, CHUNK):
                rows = []
                for i in range(start, min(count, start + CHUNK)):
                    row = record(rng, i)
                    kind = "dpo" if row["prompt"] else "text" if row["text"] else "sft"
                    rows.append({**row, "kind": kind, "confidence": 1, "system": None})
                yield pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)

    cache.write_parquet(path, RECORD_SCHEMA, tables())


def _batches(path: Path):
    return pq.ParquetFile(path).iter_batches(batch_size=BATCH, columns=["id", "kind", "conversations", "prompt",
                                                                      "text"])


def _source(path: Path) -> list:
    """``path`` as the one source of a dedup step (in load order, with its previous step's result)."""
    from bagel.pipeline.result import StepResult
    from bagel.sources.base import Source

    rows = pq.ParquetFile(path).metadata.num_rows
    source = Source("synth", "sft", 1, "", "", convert_row=lambda row, ctx: None)
    return [(source, StepResult("sample", "synth", path, "synth", rows, rows))]


def phase_exact(path: Path, recipe, root: Path) -> dict:
    """bagel's exact pass alone, as the dedup step runs it (``exact_masks``: the id column, the seen-set)."""
    from bagel.pipeline.steps import exact_masks

    [mask] = exact_masks(_source(path), root, 512 << 20)
    return {"dropped": int((~mask).sum())}


def _recipe(root: Path, near: bool):
    """A recipe carrying only the bench's dedup settings (and the build's batch size)."""
    import yaml

    from bagel.config import load_recipe

    root.mkdir(parents=True, exist_ok=True)
    (root / "x.jsonl").write_text("")
    settings = {"near": {"enabled": near, "threshold": THRESHOLD, "num_perm": NUM_PERM, "ngram": NGRAM}}
    (root / "r.yaml").write_text(yaml.safe_dump({
        "name": "bench", "sources": [{"name": "x", "shape": "records", "path": "x.jsonl"}],
        "decontamination": {"enabled": False}, "dedup": settings}))
    return load_recipe(root / "r.yaml")


def phase_near(path: Path, recipe, root: Path) -> dict:
    """bagel's near pass alone, as the dedup step runs it over one source (every row live): band keys split
    to partition files and the shared ones found (``shared_band_keys``, a core each), the in-order
    resolution."""
    from bagel.pipeline.near import near_copies, shared_band_keys

    partitions = shared_band_keys(recipe, [path], [0], root / "keys", 512 << 20)
    copies = near_copies(recipe, str(root / "keys"), partitions, np.array([CHECK_ADD]))
    return {"dropped": len(copies), "bands": f"{lsh_params(THRESHOLD, NUM_PERM)}", "partitions": partitions}


def phase_rensa(path: Path, recipe, root: Path) -> dict:
    """rensa's bulk classic MinHash (the digest matrix, read out with ``to_rows``) in place of bagel's
    signatures, with bagel's band keys, sketches and in-order rule."""
    import rensa

    from bagel.minhash import band_keys, shingle_hashes

    bands, rows = lsh_params(THRESHOLD, NUM_PERM)
    keys, refs, sketches, start = [], [], [], 0
    for batch in _batches(path):
        tokens, offsets = shingle_hashes(batch, NGRAM)
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(tokens, offsets, NUM_PERM, 1)
        sigs = np.array(matrix.to_rows(), dtype=np.uint32).reshape(batch.num_rows, NUM_PERM)
        has = np.diff(offsets) > 0
        keys.append(band_keys(sigs[has], bands, rows).reshape(-1))
        refs.append(np.repeat(start + np.flatnonzero(has), bands))
        sketches.append(sigs[has].astype(np.uint8))
        start += batch.num_rows
    shared_keys, shared_refs = shared_members(np.concatenate(keys), np.concatenate(refs))
    every_ref = np.unique(np.concatenate(refs))
    row_sketches = np.concatenate(sketches)[np.searchsorted(every_ref, np.unique(shared_refs))]
    copies = resolve_in_order(shared_keys, shared_refs, np.array([CHECK_ADD]), 40, row_sketches,
                              min_agreement(THRESHOLD, NUM_PERM))
    return {"dropped": len(copies)}


def phase_step(path: Path, recipe, root: Path) -> dict:
    """bagel's dedup step as a build runs it (``bagel.pipeline.steps.dedup_step``, the build's 512 MB budget),
    over one source of the ``path`` rows: exact dedup by id, with near dedup on (by the recipe) the near pass,
    then the kept rows written to the step's parquet output (none when nothing is dropped) and the
    removals file."""
    from bagel.pipeline.steps import dedup_step

    [result] = dedup_step(recipe, _source(path), root, 512 << 20)
    return {"dropped": result.dropped, "kept": result.kept}


def phase_datasketch(path: Path, recipe, root: Path) -> dict:
    from datasketch import MinHash, MinHashLSH

    from bagel.minhash import shingle_hashes

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=lsh_params(THRESHOLD, NUM_PERM))  # bagel's b x r
    rows = dropped = 0
    for batch in _batches(path):
        tokens, offsets = shingle_hashes(batch, NGRAM)
        for i in range(batch.num_rows):
            m = MinHash(num_perm=NUM_PERM, hashfunc=lambda v: v & 0xFFFFFFFF)
            m.update_batch(tokens[offsets[i]: offsets[i + 1]].tolist())
            if lsh.query(m):
                dropped += 1
            else:
                lsh.insert(rows + i, m)
        rows += batch.num_rows
    return {"dropped": dropped, "weights": "params as bagel's"}


PHASES = {"exact": phase_exact, "near": phase_near, "exact_step": phase_step, "near_step": phase_step,
          "bagel": phase_near, "rensa": phase_rensa, "datasketch": phase_datasketch}


def run_phase(name: str, path: Path) -> dict:
    """Run a phase in a fresh process: seconds, peak RSS (MB) and its own counts."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--data", str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB): its own high-water mark (``VmHWM``; ``ru_maxrss`` would
    start from the parent's peak, which Linux carries over fork and exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(name: str, path: Path) -> None:
    """Run phase ``name`` on ``path`` and print its figures: what a build has done before its dedup step (the
    imports, the recipe, the code hashes of the cache keys; with near dedup, numba's compiled kernels, which
    it compiles once per install) happens before the clock starts."""
    from bagel.pipeline.steps import cached_dedups

    root = Path(tempfile.mkdtemp(dir=path.parent))
    recipe = _recipe(root, near=not name.startswith("exact"))
    cached_dedups(recipe, _source(path), root)
    if recipe.dedup.near.enabled:
        from bagel.minhash import BandKeys

        BandKeys(THRESHOLD, NUM_PERM, NGRAM).keys(["warm up"])
    started, cpu = time.perf_counter(), time.process_time()
    counts = PHASES[name](path, recipe, root)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rss_mb": peak_rss_mb(), **counts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--library-rows", type=int, default=30_000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        return child(args.phase, args.data)
    print(f"threshold {THRESHOLD}, num_perm {NUM_PERM}, ngram {NGRAM}, LSH weights "
          f"(fp {FALSE_POSITIVE_WEIGHT}, fn {FALSE_NEGATIVE_WEIGHT})")
    print(f"{'phase':>14} {'rows':>9} | {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>11} | counts")
    with tempfile.TemporaryDirectory() as tmp:
        path, repeated, library = (Path(tmp) / name / "records.parquet" for name in ("all", "repeated", "library"))
        for folder in (path, repeated, library):
            folder.parent.mkdir()
        write_records(args.n, path)
        write_records(args.n, repeated, args.n // 100)
        write_records(args.library_rows, library)
        results = {}
        for name, data in (("exact", path), ("near", path), ("exact_step", path), ("near_step", path),
                           ("exact_step_rep", repeated), ("near_step_rep", repeated), ("bagel", library),
                           ("rensa", library), ("datasketch", library)):
            rows = pq.ParquetFile(data).metadata.num_rows
            r = results[name] = run_phase(name.removesuffix("_rep"), data)
            extra = {k: v for k, v in r.items() if k not in ("seconds", "rss_mb")}
            print(f"{name:>14} {rows:>9,} | {r['seconds']:>8.1f} {rows / r['seconds']:>9,.0f} {r['rss_mb']:>11,.0f} | "
                  f"{extra}", flush=True)
    ratio = {name: results[f"near{name}"]["seconds"] / results[f"exact{name}"]["seconds"]
             for name in ("", "_step", "_step_rep")}
    cpu = results["near"]["cpu_s"] / results["exact"]["cpu_s"]
    print(f"near-dup dedup / exact dedup, each pass alone (the issue's target: <= 2x): {ratio['']:.2f}x "
          f"({cpu:.2f}x in CPU seconds); the dedup step, near on / exact only: {ratio['_step']:.2f}x on synth.py's "
          f"rows, {ratio['_step_rep']:.2f}x with 1% exact repeats")
    seconds = {name: results[name]["seconds"] for name in ("bagel", "rensa", "datasketch")}
    print(f"on {args.library_rows:,} rows: rensa / bagel time {seconds['rensa'] / seconds['bagel']:.1f}x, "
          f"datasketch / bagel {seconds['datasketch'] / seconds['bagel']:.1f}x")


if __name__ == "__main__":
    main()
