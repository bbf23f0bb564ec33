"""Small recipes over hand-written rows, for pipeline tests."""

from __future__ import annotations

import json
from pathlib import Path

import yaml


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
