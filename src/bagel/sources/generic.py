"""Sources declared in a recipe rather than in code (LLaMA-Factory style): a shape plus a column map.

Shapes:

- ``records``: rows already in the unified record shape (``bench/synth.py`` rows, a previous
  build's ``records.parquet``); each row keeps its own ``source`` when it has one;
- ``sharegpt``: a chat column (``conversations``) of ``{from, value}`` or ``{role, content}`` turns;
- ``instruction``: ``instruction`` (+ optional ``input``) answered by ``output``;
- ``preference``: ``prompt``, ``chosen``, ``rejected``; each may be a string, a single turn
  (``{from, value}`` / ``{role, content}``) or a list of turns (the prompt is then the last
  human turn, the answers the last turn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from bagel import records
from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.shapes import instruction_output, preference_pair, sharegpt

Shape = Literal["records", "sharegpt", "instruction", "preference"]

ROLE_NAMES = {"user": "human", "assistant": "gpt", "human": "human", "gpt": "gpt", "system": "system"}
DEFAULT_COLUMNS = {
    "records": {},
    "sharegpt": {"conversations": "conversations", "id": None},
    "instruction": {"instruction": "instruction", "input": "input", "output": "output"},
    "preference": {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"},
}


def _turn(turn) -> dict:
    if not isinstance(turn, dict):
        raise Skip("malformed:turn_not_object")
    role = turn.get("from", turn.get("role"))
    value = turn.get("value", turn.get("content"))
    if role not in ROLE_NAMES:
        raise Skip("malformed:unknown_role")
    return {"from": ROLE_NAMES[role], "value": value}


def _text(value, *, want: str) -> str:
    """A preference field as text: the string, the turn's value, or the last (human) turn of a list."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _turn(value)["value"]
    if isinstance(value, list) and value:
        turns = [_turn(t) for t in value]
        if want == "prompt":
            humans = [t["value"] for t in turns if t["from"] == "human"]
            if humans:
                return humans[-1]
        return turns[-1]["value"]
    raise Skip("malformed:pair_field_missing")


def _records_row(row: dict, ctx: ConvertContext) -> dict:
    kind = row.get("kind") or (
        "sft" if row.get("conversations") else "dpo" if row.get("chosen") is not None else "text"
    )
    if kind not in records.KINDS:
        raise Skip("malformed:unknown_kind")
    fields = {k: row.get(k) for k in ("conversations", "system", "prompt", "chosen", "rejected", "text")}
    if kind == "sft":
        rec = sharegpt([_turn(t) for t in fields["conversations"]], id=row.get("id"))
    elif kind == "dpo":
        rec = records.dpo(fields["prompt"], fields["chosen"], fields["rejected"])
    else:
        rec = records.text(fields["text"])
    if row.get("id"):
        rec["id"] = row["id"]
    if row.get("source"):
        rec["source"] = row["source"]
    return rec


def _converter(shape: Shape, columns: dict) -> Callable[[dict, ConvertContext], dict]:
    cols = {**DEFAULT_COLUMNS[shape], **columns}
    if shape == "records":
        return _records_row
    if shape == "sharegpt":

        def convert(row: dict, ctx: ConvertContext) -> dict:
            turns = row[cols["conversations"]]
            if not isinstance(turns, list):
                raise Skip("malformed:conversations_not_list")
            own_id = row.get(cols["id"]) if cols["id"] else None
            return sharegpt([_turn(t) for t in turns], id=None if own_id is None else records.make_id(str(own_id)))

        return convert
    if shape == "instruction":

        def convert(row: dict, ctx: ConvertContext) -> dict:
            extra = row.get(cols["input"]) or ""
            instruction = row[cols["instruction"]]
            return instruction_output(f"{instruction}\n{extra}" if extra else instruction, row[cols["output"]])

        return convert

    def convert(row: dict, ctx: ConvertContext) -> dict:
        return preference_pair(
            _text(row[cols["prompt"]], want="prompt"),
            _text(row[cols["chosen"]], want="answer"),
            _text(row[cols["rejected"]], want="answer"),
        )

    return convert


def make_source(name: str, shape: Shape, *, confidence: int, columns: dict | None = None) -> Source:
    """A :class:`Source` for a recipe-declared data set of a generic ``shape``."""
    kind = {"records": "sft+dpo+text", "sharegpt": "sft", "instruction": "sft", "preference": "dpo"}[shape]
    return Source(
        name=name,
        kind=kind,
        confidence=confidence,
        description=f"user-declared {shape} source",
        license="user-supplied",
        hub_id=None,
        convert_row=_converter(shape, columns or {}),
        dedup="none" if shape == "preference" else "check_add",
    )
