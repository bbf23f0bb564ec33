"""Small recipes over hand-written rows, for pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bagel.memory import iter_parquet
from bagel.report.stats import source_name
from bagel.tokens import PROMPT_RESPONSE, TokenStats


def write_jsonl(path: Path, rows: list) -> Path:
    """Write rows (dicts, or raw strings for broken lines) as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def write_recipe(path: Path, sources: list[dict], **extra) -> Path:
    """A recipe with decontamination off unless ``extra`` says otherwise."""
    recipe = {"name": path.stem, "seed": 7, "sources": sources, "decontamination": {"enabled": False}, **extra}
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def qa(instruction: str, output: str) -> dict:
    """An instruction-shape row."""
    return {"instruction": instruction, "output": output}


def token_summary(out_dir: Path, sources: list[str], counter, max_seq_length: int) -> dict:
    """report.json's ``tokens`` counted again from the written sft.parquet and dpo.parquet (each row's
    ``source`` value mapped to one of ``sources``): what a build counts while rendering, read back."""
    stats = TokenStats()
    for kind, columns in PROMPT_RESPONSE.items():
        columns = ["source", "format", *(c for c in columns if c)]
        for batch in iter_parquet(Path(out_dir) / f"{kind}.parquet", 8192, columns):
            stats.add(kind, batch, counter, lambda value: source_name(value, sources))
    return stats.summary(counter.spec, max_seq_length)
