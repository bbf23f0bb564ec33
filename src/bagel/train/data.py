"""Training rows: read ``sft.parquet`` / ``dpo.parquet`` of a build, keep the configured formats, tokenize.

Rows that cannot train (format not selected, empty response, chosen == rejected) are
counted by reason, logged and dropped. SFT rows are tokenized here, prompt and response
separately: ``tokenizer(input)`` is exactly what ``bagel chat`` feeds the model, and the
response tokens follow it unchanged, so the loss mask is exact (prompt tokens -100) even
where a format's prompt ends in a space that a joint tokenization would merge into the
response (vicuna's ``"ASSISTANT: "``).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from datasets import Dataset

from bagel.errors import UserError
from bagel.formats import DPO_SCHEMA, PLAIN_TEXT, SFT_SCHEMA
from bagel.log import logger
from bagel.train.config import DPOTrainConfig, SFTTrainConfig, TrainConfig

SFT_COLUMNS = tuple(SFT_SCHEMA.names)
DPO_COLUMNS = tuple(DPO_SCHEMA.names)


def parquet_files(data: str | list[str], name: str) -> list[Path]:
    """The parquet files of ``data``: ``<dir>/<name>`` for a build output dir, else the files given."""
    paths = [Path(data)] if isinstance(data, str) else [Path(p) for p in data]
    files = [p / name if p.is_dir() else p for p in paths]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UserError(f"training data not found: {', '.join(missing)}")
    return files


def build_format(data: str | list[str]) -> dict:
    """The ``format`` block of the build's ``report.json`` (bos, eos, chatml_markers...), or ``{}``."""
    if not isinstance(data, str) or not (Path(data) / "report.json").is_file():
        return {}
    report = json.loads((Path(data) / "report.json").read_text(encoding="utf-8"))
    return report.get("format") or {}


def read_rows(files: list[Path], columns: tuple[str, ...]) -> pa.Table:
    """Read ``columns`` of every file into one table; a missing column is a :class:`UserError`."""
    tables = []
    for path in files:
        names = set(pq.read_schema(path).names)
        missing = [c for c in columns if c not in names]
        if missing:
            raise UserError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})")
        tables.append(pq.read_table(path, columns=list(columns)))
    return pa.concat_tables(tables)


def _blank(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(column)), 0), True)


def drop_rows(table: pa.Table, reasons: dict[str, pa.ChunkedArray]) -> tuple[pa.Table, Counter]:
    """Drop the rows flagged by each boolean mask of ``reasons``; a row counts under its first reason."""
    keep = pa.chunked_array([pa.array([True] * len(table))])
    skipped = Counter()
    for reason, bad in reasons.items():
        hit = pc.and_(keep, bad)
        count = pc.sum(hit).as_py() or 0
        if count:
            skipped[reason] = count
        keep = pc.and_(keep, pc.invert(hit))
    return table.filter(keep), skipped


def _select(table: pa.Table, formats: list[str], texts: tuple[str, ...], what: str) -> pa.Table:
    reasons = {"format_not_selected": pc.invert(pc.is_in(table["format"], value_set=pa.array(formats)))}
    reasons |= {f"empty_{name}": _blank(table[name]) for name in texts}
    if what == "dpo":
        reasons["chosen_equals_rejected"] = pc.fill_null(pc.equal(table["chosen"], table["rejected"]), False)
    kept, skipped = drop_rows(table, reasons)
    logger.info("%s rows: %d kept, %d skipped %s", what, len(kept), sum(skipped.values()), dict(skipped) or "")
    if not len(kept):
        raise UserError(f"no {what} rows left for formats {', '.join(formats)} (skipped: {dict(skipped)})")
    return kept


def load_sft_rows(cfg: SFTTrainConfig) -> Dataset:
    """The SFT rows of the configured formats as a ``{prompt, completion}`` dataset."""
    table = read_rows(parquet_files(cfg.data, "sft.parquet"), SFT_COLUMNS)
    formats = list(cfg.formats) + ([PLAIN_TEXT] if cfg.plain_text else [])
    table = _select(table, formats, ("output",), "sft")
    return Dataset(table.select(["input", "output"]).rename_columns(["prompt", "completion"]))


def load_dpo_rows(cfg: DPOTrainConfig) -> Dataset:
    """The DPO rows of the configured formats as a ``{prompt, chosen, rejected}`` dataset."""
    table = read_rows(parquet_files(cfg.data, "dpo.parquet"), DPO_COLUMNS)
    table = _select(table, list(cfg.formats), ("prompt", "chosen", "rejected"), "dpo")
    return Dataset(table.select(["prompt", "chosen", "rejected"]))


def tokenize_sft(rows: Dataset, tokenizer, num_proc: int | None = None) -> Dataset:
    """``{input_ids, completion_mask}``: ``tokenizer(prompt)`` then the completion's tokens and EOS (mask 1)."""

    def encode(batch):
        prompts = tokenizer(batch["prompt"])["input_ids"]
        completions = tokenizer(batch["completion"], add_special_tokens=False)["input_ids"]
        ids, masks = [], []
        for prompt, completion in zip(prompts, completions, strict=True):
            completion = completion + [tokenizer.eos_token_id]
            ids.append(prompt + completion)
            masks.append([0] * len(prompt) + [1] * len(completion))
        return {"input_ids": ids, "completion_mask": masks}

    return rows.map(encode, batched=True, remove_columns=rows.column_names, num_proc=num_proc, desc="Tokenizing")


def resolve_special_strings(cfg: TrainConfig) -> TrainConfig:
    """Fill ``bos``/``eos``/``chatml_markers`` left unset from the build's report.json (the strings the rows hold)."""
    fmt = build_format(cfg.data)
    updates = {key: fmt[key] for key in ("bos", "eos", "chatml_markers") if getattr(cfg, key) is None and key in fmt}
    return cfg.model_copy(update=updates)
