"""A small build out dir written by hand: three sources (sft, dpo, text), two formats, one removal."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bagel import records

STEPS = ("convert", "sample", "dedup", "trim", "decontam", "render")
SFT_SCHEMA = pa.schema([(n, pa.string()) for n in ("id", "source", "format", "input", "output")])
DPO_SCHEMA = pa.schema([(n, pa.string()) for n in ("id", "source", "format", "prompt", "chosen", "rejected")])
FORMATS = ("alpaca", "vicuna")

# per source: declaration and (in, kept, dropped) of each step before render
SOURCES = {
    "alpha": {"kind": "sft", "confidence": 3, "hub_id": "org/alpha", "license": "MIT",
              "steps": [(8, 7, {"malformed:no_response": 1}), (7, 7, {}), (7, 6, {"duplicate": 1}), (6, 6, {}),
                        (6, 5, {"contaminated:gsm8k": 1})]},
    "beta": {"kind": "dpo", "confidence": 2, "hub_id": "org/beta", "license": "CC-BY-SA-4.0",
             "steps": [(4, 3, {"refusal:as an ai": 1}), (3, 3, {}), (3, 3, {}), (3, 3, {}), (3, 3, {})]},
    "gamma": {"kind": "text", "confidence": 1, "hub_id": None, "license": "Public domain (Project Gutenberg)",
              "steps": [(10, 10, {}), (10, 4, {"sampled_out": 6}), (4, 4, {}), (4, 2, {"capped": 2}), (2, 2, {})]},
}
REMOVAL = {"id": records.make_id("alpha-removed"), "source": "alpha", "benchmark": "gsm8k", "item_index": 7,
           "item_text": "Janet's ducks lay 16 eggs per day.", "train_text": "Janet's ducks lay 16 eggs per day. <b>",
           "detector": "ngram", "score": 0.92}


def source_of(row: dict) -> str:
    """The fixture source a row's ``source`` value belongs to (``alpha_vicuna``, ``gamma book-1`` ...)."""
    return row["source"].split("_")[0].split(" ")[0]


def alpha_rows() -> tuple[list[dict], list[dict]]:
    """5 sft records of alpha, rendered in both formats (with trailing spaces, tabs, HTML in the text).

    Like the renderer, sft rows name their source with the format as suffix (``alpha_alpaca``)."""
    recs, rows = [], []
    for i in range(5):
        question = f"Question {i}: what is <script>alert({i})</script>?  \n\tIndented line"
        answer = "Answer " + "x" * (10 * i) + "  \n"
        rec = records.single_turn(question, answer) | {"source": "alpha", "confidence": 3}
        recs.append(rec)
        for fmt in FORMATS:
            rows.append({"id": rec["id"], "source": f"alpha_{fmt}", "format": fmt,
                         "input": f"<s>[{fmt}] {question}\n", "output": f"{answer}</s>"})
    return recs, rows


def beta_rows() -> tuple[list[dict], list[dict]]:
    """3 dpo records of beta, rendered in both formats."""
    recs, rows = [], []
    for i in range(3):
        rec = records.dpo(f"Prompt {i} & more", f"good {i}", f"bad {i}") | {"source": "beta", "confidence": 2}
        recs.append(rec)
        for fmt in FORMATS:
            rows.append({"id": rec["id"], "source": "beta", "format": fmt, "prompt": f"[{fmt}] {rec['prompt']}\n",
                         "chosen": rec["chosen"], "rejected": rec["rejected"]})
    return recs, rows


def gamma_rows() -> tuple[list[dict], list[dict]]:
    """2 text records of gamma (a book: the records' source is "gamma book-1"), rendered once as plain_text."""
    recs, rows = [], []
    for i in range(2):
        rec = records.text("Once upon a time " * (20 + i)) | {"source": "gamma book-1", "confidence": 1}
        recs.append(rec)
        rows.append({"id": rec["id"], "source": "gamma book-1_plain_text", "format": "plain_text", "input": "",
                     "output": rec["text"]})
    return recs, rows


def write_build(out: Path, with_dpo: bool = True, tokenizer: str | None = None) -> Path:
    """Write records/sft/dpo parquet, decontamination.jsonl and a consistent report.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    parts = {"alpha": alpha_rows(), "gamma": gamma_rows()}
    if with_dpo:
        parts["beta"] = beta_rows()
    recs = [r for recs, _ in parts.values() for r in recs]
    sft = [row for name, (_, rows) in parts.items() if name != "beta" for row in rows]
    dpo = parts["beta"][1] if with_dpo else []
    pq.write_table(records.to_table(recs), out / "records.parquet")
    pq.write_table(pa.Table.from_pylist(sft, schema=SFT_SCHEMA), out / "sft.parquet")
    pq.write_table(pa.Table.from_pylist(dpo, schema=DPO_SCHEMA), out / "dpo.parquet")
    (out / "decontamination.jsonl").write_text(json.dumps(REMOVAL) + "\n", encoding="utf-8")

    sources = {}
    for name in sorted(parts, key=lambda n: -SOURCES[n]["confidence"]):
        decl = SOURCES[name]
        steps = {step: {"in": i, "kept": k, "dropped": d, "seconds": 0.25, "cached": step == "convert"}
                 for step, (i, k, d) in zip(STEPS, decl["steps"])}
        n = len(parts[name][0])
        steps["render"] = {"in": n, "kept": n, "dropped": {}, "seconds": 0.5, "cached": False,
                           "sft_rows": sum(source_of(r) == name for r in sft),
                           "dpo_rows": sum(source_of(r) == name for r in dpo)}
        sources[name] = {k: decl[k] for k in ("confidence", "kind", "hub_id", "license")} | {"steps": steps}
    totals = {}
    for step in STEPS:
        dropped: dict[str, int] = {}
        for info in sources.values():
            for reason, n in info["steps"][step]["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + n
        totals[step] = {"in": sum(i["steps"][step]["in"] for i in sources.values()),
                        "kept": sum(i["steps"][step]["kept"] for i in sources.values()),
                        "dropped": dict(sorted(dropped.items())),
                        "seconds": sum(i["steps"][step]["seconds"] for i in sources.values())}
    fmt = {"mode": "every", "formats": list(FORMATS), "bos": "<s>", "eos": "</s>", "tokenizer": tokenizer,
           "chatml_markers": False}
    report = {
        "recipe": "tiny", "seed": 42, "bagel_version": "0.1.0", "code_version": "abc123",
        "recipe_config": {"name": "tiny", "seed": 42, "sources": [{"name": n} for n in parts], "format": fmt},
        "format": {k: v for k, v in fmt.items() if k != "tokenizer"},
        "sources": sources, "step_order": list(STEPS), "steps": totals,
        "outputs": {"records": len(recs), "sft": len(sft), "dpo": len(dpo)},
        "decontamination": {"removed": 1, "by_source": {"alpha": {"gsm8k": 1}}, "top": [REMOVAL]},
        "timings": {"convert+sample": 1.5, "dedup": 0.25, "trim+decontam": 2.0, "render": 0.75, "write": 0.1,
                    "total": 4.6},
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out
