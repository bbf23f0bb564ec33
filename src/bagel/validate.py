"""Record validation: why a converted record is malformed, or None when it is fine."""

from __future__ import annotations


def chat_problem(turns) -> str | None:
    """Why a chat is malformed, or None.

    Rules: a non-empty list of ``{from, value}`` turns with string, non-blank values; an
    optional leading ``system`` turn, then ``human``/``gpt`` strictly alternating, starting
    with ``human`` and ending with ``gpt``.
    """
    if not isinstance(turns, list) or not turns:
        return "no_turns"
    for turn in turns:
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            return "turn_not_text"
        if not turn["value"].strip():
            return "empty_turn"
    start = 1 if turns[0].get("from") == "system" else 0
    body = turns[start:]
    if not body:
        return "no_turns"
    for index, turn in enumerate(body):
        if turn.get("from") != ("human" if index % 2 == 0 else "gpt"):
            return "roles_do_not_alternate"
    if body[-1]["from"] != "gpt":
        return "does_not_end_with_gpt"
    return None


def record_problem(record: dict) -> str | None:
    """Why a unified record is malformed (``malformed:`` is added by the caller), or None."""
    kind = record.get("kind")
    if not isinstance(record.get("id"), str) or not record["id"]:
        return "missing_id"
    if kind == "sft" or record.get("conversations") is not None:
        problem = chat_problem(record.get("conversations"))
        if problem or kind == "sft":
            return problem
    if kind == "dpo":
        for name in ("prompt", "chosen", "rejected"):
            value = record.get(name)
            if not isinstance(value, str):
                return f"{name}_not_text"
            if not value.strip():
                return f"empty_{name}"
        return None
    if kind == "text":
        value = record.get("text")
        if not isinstance(value, str):
            return "text_not_text"
        return None if value.strip() else "empty_text"
    return "unknown_kind"


def identical_pair(record: dict) -> bool:
    """Whether a preference record's chosen and rejected answers are the same (whitespace and case aside):
    such a pair teaches nothing and is dropped as ``dpo:identical``."""
    if record.get("kind") != "dpo":
        return False
    return record["chosen"].strip().casefold() == record["rejected"].strip().casefold()
