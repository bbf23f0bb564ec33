"""Decontamination bench: recall, false removals and rows/s of our presets next to the original rule.

Reads only files inside the repo (bench/data/, origins and licenses in bench/data/MANIFEST.md) and the
bundled benchmarks, so it runs on a fresh clone. The labelled set:

- perturbed: benchmark items placed into training rows verbatim and perturbed (case/whitespace/
  punctuation, prefix / suffix instruction, inside a longer prompt, words changed and reordered,
  multiple-choice options reordered and relettered);
- paraphrase: hand-written paraphrases: ``paraphrase/original`` (bench/data/decontam_paraphrases.jsonl,
  the set the round-1 detector was tuned on) and a second set written apart from it
  (bench/data/decontam_paraphrases_split.jsonl), split by item into ``paraphrase/tune`` (thresholds
  were chosen on it) and ``paraphrase/heldout`` (never looked at while tuning);
- clean: a sample of real instructions that must be kept (as in round 1);
- lookalike: every row of bench/data/lookalikes.jsonl.gz (about 29k real rows that are not benchmark
  items: GSM8K train, Belebele, PIQA, BoolQ, OpenBookQA, Spider, EmoBank, Natural Instructions, HH-RLHF,
  alpaca seed tasks, chat demos); each removal there is a false removal and is printed.

The original rule is slow (one text per encode call), so it runs on a stratified sample
(--original-sample rows); our default runs on that same sample too, for a side-by-side rate, twice:
a first run (no re-scored benchmark vectors on disk yet, so it embeds the benchmark texts it
re-scores) and a later run (they are on disk: what every build after the first, and every worker
after the first batch, sees). Setup (loading the models, embedding the benchmark texts for the
static or the original index) is excluded on both sides.

    python bench/decontam.py [--data DIR] [--per-benchmark 30] [--original-sample 600] [--synth-rows 200000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path

from bagel.benchmarks import available_offline, load_benchmark
from bagel.decontam import DecontamOptions, Decontaminator
from bagel.decontam.texts import full_texts
from bagel.log import configure
from bagel.records import single_turn, to_table

HERE = Path(__file__).parent
PREFIXES = ["Answer the following question:\n", "Solve this problem.\n\n", "Please respond to the following: "]
SUFFIXES = ["\nThink step by step.", "\n\nExplain your answer.", " Keep it short."]
WRAP = (
    "I am preparing for an exam and found this exercise in a practice sheet. I could not work it out on my "
    "own, so please help me with it.\n\n{}\n\nShow every step of your reasoning and state the final answer "
    "clearly at the end, then suggest one similar exercise I could practise with."
)
FILLERS = ["really", "some", "that", "thing", "quite", "also"]


def _lines(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def perturb(kind: str, text: str, rng: random.Random, choices: tuple[str, list[str]] | None) -> str | None:
    """One perturbation of a benchmark text."""
    if kind == "verbatim":
        return text
    if kind == "case_space_punct":
        out = text.upper() if rng.random() < 0.5 else text.lower()
        out = out.replace(" ", "  ").replace("?", "").replace(",", " ,")
        return "  " + out.replace(".", " . ") + " !!"
    if kind == "prefix":
        return rng.choice(PREFIXES) + text
    if kind == "suffix":
        return text + rng.choice(SUFFIXES)
    if kind == "inside_longer_prompt":
        return WRAP.format(text)
    if kind == "words_changed":
        words = text.split(" ")
        if len(words) < 6:
            return None
        for _ in range(max(1, min(4, len(words) // 12))):
            words[rng.randrange(len(words))] = rng.choice(FILLERS)
        j = rng.randrange(len(words) - 1)
        words[j], words[j + 1] = words[j + 1], words[j]
        return " ".join(words)
    if kind == "mc_reordered" and choices:
        question, options = choices
        options = options[:]
        rng.shuffle(options)
        return question + "\n" + "\n".join(f"({i + 1}) {o}" for i, o in enumerate(options))
    return None


KINDS = ["verbatim", "case_space_punct", "prefix", "suffix", "inside_longer_prompt", "words_changed", "mc_reordered"]


def contaminated(benchmarks, per_bench: int, seed: int) -> list[dict]:
    """Perturbed benchmark items (label ``perturbed``)."""
    rows = []
    for items in benchmarks:
        rng = random.Random(f"{seed}-{items.name}")
        full = full_texts(items)  # the item as a model sees it (question + choices)
        for j in rng.sample(range(len(items.display)), min(per_bench, len(items.display))):
            variants = [t for t, i in zip(items.texts, items.item_index) if i == j]
            lettered = next((v for v in variants if "\nA. " in v), None)
            choices = None
            if lettered:
                head, *opts = lettered.split("\n")
                choices = (head, [o[3:] for o in opts])
            for kind in KINDS:
                text = perturb(kind, full[j], rng, choices)
                if text:
                    rows.append({"label": "perturbed", "kind": kind, "benchmark": items.name, "text": text})
    return rows


CLEAN_SAMPLE = {"gsm8k_train": 1000, "alpaca_seed": 175, "piqa": 300, "belebele_passage": 200, "openbookqa": 250,
                "dpo_demo": 300, "hh_rlhf": 300}


def lookalikes(data: Path) -> list[dict]:
    """Every real look-alike row (label ``lookalike``; ``kind`` is its source)."""
    return [{"label": "lookalike", "kind": r["source"], "benchmark": "", "text": r["text"]}
            for r in _lines(data / "lookalikes.jsonl.gz")]


def clean(looks: list[dict], seed: int) -> list[dict]:
    """A sample of the look-alike rows per source, as round 1's clean set (label ``clean``)."""
    rng = random.Random(seed)
    out = []
    for kind, n in CLEAN_SAMPLE.items():
        texts = [r["text"] for r in looks if r["kind"] == kind]
        out.extend({"label": "clean", "kind": kind, "benchmark": "", "text": t}
                   for t in rng.sample(texts, min(n, len(texts))))
    return out


def paraphrases(data: Path) -> list[dict]:
    """Hand-written paraphrases (label ``paraphrase``, kind ``original``, ``tune`` or ``heldout``)."""
    rows = [{**r, "split": "original"} for r in _lines(data / "decontam_paraphrases.jsonl")]
    rows += _lines(data / "decontam_paraphrases_split.jsonl")
    return [{"label": "paraphrase", "kind": r.pop("split"), **r} for r in rows]


def evaluate(name: str, decon: Decontaminator, rows: list[dict], batch: int = 512, verbose: bool = False) -> dict:
    """Run ``decon`` over ``rows``; print recall per label/kind, clean kept rate and rows/s."""
    records = [single_turn(r["text"], "ok") for r in rows]
    for i, rec in enumerate(records):
        rec["id"], rec["source"] = str(i), rows[i]["kind"]
    table = to_table(records)
    removed, start = {}, time.perf_counter()
    for lo in range(0, len(rows), batch):
        _, removals = decon.filter_batch(table.slice(lo, batch))
        removed.update((int(r["id"]), r) for r in removals)
    seconds = time.perf_counter() - start
    by = defaultdict(Counter)
    for i, r in enumerate(rows):
        key = f"{r['label']}/{r['kind']}" if r["label"] in ("perturbed", "paraphrase") else r["label"]
        for k in {key, r["label"]}:
            by[k]["n"] += 1
            by[k]["removed"] += i in removed
    result = {"rows_per_s": len(rows) / seconds, "seconds": seconds}
    print(f"\n== {name}: {len(rows)} rows in {seconds:.1f} s = {len(rows) / seconds:.1f} rows/s")
    for key in sorted(by):
        n, rem = by[key]["n"], by[key]["removed"]
        if key == "lookalike":
            print(f"  {key:32s} n={n:5d}  false removals {rem} = {1e4 * rem / n:.2f} per 10k rows")
            result["lookalike_per_10k"] = 1e4 * rem / n
            continue
        rate = (n - rem) / n if key == "clean" else rem / n
        what = "kept (precision)" if key == "clean" else "recall"
        print(f"  {key:32s} n={n:5d}  {what} {rate:.4f}")
        result[key] = rate
    for i, r in enumerate(rows):
        if r["label"] in ("clean", "lookalike") and i in removed:
            match = removed[i]
            print(f"  false removal [{r['label']}/{r['kind']}] {match['benchmark']} #{match['item_index']} "
                  f"({match['detector']} {match['score']}): {r['text'][:160]!r}\n      item: {match['item_text'][:160]!r}")
    if verbose:
        for i, r in enumerate(rows):
            if r["label"] in ("perturbed", "paraphrase") and i not in removed:
                print(f"  missed [{r['label']}/{r['kind']}] {r['benchmark']}: {r['text'][:120]!r}")
    return result


def synth_rate(rows: int) -> None:
    """Rows/s of the ngram preset (bundled benchmarks) on ``rows`` synthetic bagel-shaped rows, 10k per batch."""
    import pyarrow as pa
    from synth import records

    from bagel.records import RECORD_SCHEMA

    data = records(rows)
    for r in data:
        r.update(kind="dpo" if r["prompt"] else "text" if r["text"] else "sft", confidence=1, system=None)
    table = pa.Table.from_pylist(data, schema=RECORD_SCHEMA)
    decon = Decontaminator(DecontamOptions(preset="ngram"))
    start = time.perf_counter()
    removed = sum(len(decon.filter_batch(b)[1]) for b in table.to_batches(max_chunksize=10_000))
    seconds = time.perf_counter() - start
    print(f"\n== ngram preset on {rows} synthetic rows: {rows / seconds:,.0f} rows/s ({removed} removed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data", help="folder of the labelled files")
    parser.add_argument("--presets", default="ngram,default", help="presets run on the full set")
    parser.add_argument("--verbose", action="store_true", help="also print every missed positive")
    parser.add_argument("--per-benchmark", type=int, default=30)
    parser.add_argument("--original-sample", type=int, default=600)
    parser.add_argument("--cache-dir", type=Path, default=Path("~/.cache/bagel/decontam").expanduser())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-original", action="store_true")
    parser.add_argument("--skip-full", action="store_true", help="only the side-by-side runs on the sample")
    parser.add_argument("--synth-rows", type=int, default=200_000, help="rows for the ngram rate (0: skip)")
    args = parser.parse_args()
    configure(quiet=True)
    if args.synth_rows:
        synth_rate(args.synth_rows)
    entries = [*available_offline(), f"alpaca_eval={args.data / 'alpaca_eval.jsonl'}"]
    benchmarks = [load_benchmark(e) for e in entries]
    looks = lookalikes(args.data)
    rows = contaminated(benchmarks, args.per_benchmark, args.seed) + paraphrases(args.data) + clean(looks, args.seed)
    labelled = rows + looks
    print(f"labelled set: {Counter(r['label'] for r in rows)}")
    for preset in args.presets.split(",") if not args.skip_full else ():
        start = time.perf_counter()
        decon = Decontaminator(DecontamOptions(preset=preset, benchmarks=entries), cache_dir=args.cache_dir)
        print(f"\n[{preset}] setup {time.perf_counter() - start:.1f} s")
        evaluate(f"ours, preset {preset} (full set)", decon, labelled, verbose=args.verbose)
    if args.skip_original:
        return
    sample = random.Random(args.seed).sample(rows, min(args.original_sample, len(rows)))
    for stale in args.cache_dir.glob("rescore-*"):  # the first run embeds the benchmark texts it re-scores
        shutil.rmtree(stale)
    first = Decontaminator(DecontamOptions(preset="default", benchmarks=entries), cache_dir=args.cache_dir)
    first.transformer()  # setup, as the original's model load is
    ours_first = evaluate("ours, preset default (sample, first run: nothing cached but the static setup)", first,
                          sample)
    later = Decontaminator(DecontamOptions(preset="default", benchmarks=entries), cache_dir=args.cache_dir)
    later.transformer()
    ours_later = evaluate("ours, preset default (sample, later run: re-scored benchmark vectors on disk)", later,
                          sample)
    original = Decontaminator(DecontamOptions(preset="bagel-original", benchmarks=entries), cache_dir=args.cache_dir)
    orig = evaluate("original rule, preset bagel-original (sample)", original, sample, batch=len(sample))
    print(f"\nspeed-up on the same rows (setup excluded on both sides): first run "
          f"{ours_first['rows_per_s'] / orig['rows_per_s']:.1f}x, later runs "
          f"{ours_later['rows_per_s'] / orig['rows_per_s']:.1f}x")


if __name__ == "__main__":
    main()
