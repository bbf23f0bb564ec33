"""Shared helpers of the format tests: record builders and a renderer without default system prompts."""

from __future__ import annotations

import pyarrow as pa

from bagel.formats import FormatOptions, Renderer, SystemDefaults
from bagel.records import record, to_table

NO_DEFAULTS = SystemDefaults(vicuna_probability=0, chatml_probability=0, llama2_probability=0)


def chat(*texts: str, system: str | None = None) -> list[dict]:
    """A conversation: optional system turn, then texts alternating human/gpt."""
    turns = [{"from": "system", "value": system}] if system is not None else []
    return turns + [{"from": ("human", "gpt")[i % 2], "value": text} for i, text in enumerate(texts)]


def sft_record(record_id: str, *texts: str, system: str | None = None, source: str = "src") -> dict:
    """An sft record with the given id and chat."""
    return record("sft", id=record_id, source=source, conversations=chat(*texts, system=system), system=system)


def render(records: list[dict], seed: int = 0, **options) -> tuple[list[dict], list[dict], dict]:
    """Render records (no default system prompts unless given) and return plain rows."""
    options.setdefault("system_defaults", NO_DEFAULTS)
    renderer = Renderer(FormatOptions(**options), seed)
    renderer.prepare(r["id"] for r in records)
    sft, dpo, dropped = renderer.render_batch(to_table(records))
    return sft.to_pylist(), dpo.to_pylist(), dict(dropped)


def chunked_table(records: list[dict], chunk: int = 3) -> pa.Table:
    """Records as an Arrow table of several chunks (as a pipeline may hand them over)."""
    return pa.concat_tables([to_table(records[i : i + chunk]) for i in range(0, len(records), chunk)])
