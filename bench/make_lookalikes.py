"""Regenerate bench/data/lookalikes.jsonl.gz: real training-style rows that are NOT benchmark items.

Each row is ``{"source": ..., "text": ...}``: the instruction text a mix would hold for a real row of
a public data set that resembles a benchmark (reading comprehension, multiple choice, grade-school
math, commonsense, chat prompts). bench/decontam.py counts every removal among them as a false
removal. Origins and licenses: bench/data/MANIFEST.md.

    python bench/make_lookalikes.py /path/to/shared/data/real
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import sys
from pathlib import Path

OUT = Path(__file__).parent / "data" / "lookalikes.jsonl.gz"
NI_PER_TASK = 600
EMOBANK = 3000


def _lines(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _lettered(question: str, choices: list[str]) -> str:
    return "\n".join([question, *(f"{'ABCDEFGH'[i]}. {c}" for i, c in enumerate(choices))])


def _first_human(conversations: list[dict]) -> str:
    return next(t["value"] for t in conversations if t["from"] == "human")


def rows(real: Path) -> list[dict]:
    """All look-alike rows, in a fixed order (sampled parts with a fixed seed)."""
    rng = random.Random(0)
    out: list[dict] = []

    def add(source: str, texts) -> None:
        out.extend({"source": source, "text": t} for t in texts if t and t.strip())

    add("gsm8k_train", [r["question"] for r in _lines(real / "gsm8k_train.jsonl.gz")])
    bele = _lines(real / "belebele_eng_Latn.jsonl")
    add("belebele_passage", [f"{r['flores_passage']}\n{r['question']}" for r in bele])
    add("belebele_mc", [_lettered(r["question"], [r[f"mc_answer{i}"] for i in range(1, 5)]) for r in bele])
    piqa = _lines(real / "piqa_valid.jsonl") + _lines(real / "piqa_test.jsonl")
    add("piqa", [_lettered(r["goal"], [r["sol1"], r["sol2"]]) for r in piqa])
    add("boolq", [r["query"] for r in _lines(real / "boolq_dev.jsonl.gz")])
    obqa = [r["question"] for r in _lines(real / "openbookqa_test.jsonl")]
    add("openbookqa", [_lettered(q["stem"], [c["text"] for c in q["choices"]]) for q in obqa])
    with gzip.open(real / "spider_dev.json.gz", "rt", encoding="utf-8") as fh:
        add("spider", [f"Write a SQL query for the following: {r['question']}" for r in json.load(fh)])
    with open(real / "emobank.csv", encoding="utf-8", newline="") as fh:
        emo = [r["text"] for r in csv.DictReader(fh)]
    add("emobank", rng.sample(emo, EMOBANK))
    for task in sorted((real / "natural_instructions").glob("*.json")):
        data = json.loads(task.read_text(encoding="utf-8"))
        definition = data["Definition"] if isinstance(data["Definition"], str) else "\n".join(data["Definition"])
        instances = data["Instances"]
        picked = rng.sample(instances, min(NI_PER_TASK, len(instances)))
        add(f"ni_{task.stem.split('_')[0]}", [f"{definition}\n{i['input']}" for i in picked])
    hh = _lines(real / "hh_rlhf_harmless_base_test.jsonl.gz")
    add("hh_rlhf", [r["chosen"].split("\n\nHuman: ")[1].split("\n\nAssistant:")[0] for r in hh])
    seeds = _lines(real / "alpaca_seed_tasks.jsonl")
    add("alpaca_seed", ["\n".join(filter(None, [r["instruction"], r["instances"][0]["input"]])) for r in seeds])
    add("dpo_demo", [_first_human(r["conversations"]) for r in json.loads((real / "dpo_en_demo.json").read_text())])
    for name in ("sharegpt_glaive_toolcall_en_demo", "sharegpt_fastchat_dummy_conversation"):
        add(name.removeprefix("sharegpt_"),
            [_first_human(r["conversations"]) for r in json.loads((real / f"{name}.json").read_text())])
    return out


def main() -> None:
    real = Path(sys.argv[1])
    data = rows(real)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data).encode())
    print(f"{len(data)} rows -> {OUT}")


if __name__ == "__main__":
    main()
