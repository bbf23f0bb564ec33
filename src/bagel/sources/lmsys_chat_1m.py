"""lmsys_chat_1m: real chats from the LMSYS chatbot arena, GPT-4 items only (``lmsys/lmsys-chat-1m``)."""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Iterable, Iterator

from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.shapes import preference_pair, sharegpt

ROLES = {"user": "human", "assistant": "gpt"}


def _digest(conversation: list[dict]) -> str:
    """md5 of the user turns joined by newlines: the same prompt sent to several models."""
    return hashlib.md5("\n".join(t["content"] for t in conversation if t["role"] == "user").encode()).hexdigest()


def _chat(conversation: list[dict]) -> dict:
    """The conversation as an sft record (user -> human, assistant -> gpt; id = user turns joined)."""
    turns = []
    for turn in conversation:
        if turn["role"] not in ROLES:
            raise Skip("malformed:unknown_role")
        turns.append({"from": ROLES[turn["role"]], "value": turn["content"]})
    return sharegpt(turns)


def convert(rows: Iterable[dict], ctx: ConvertContext) -> Iterator[dict]:
    """GPT-4 chats as sft rows; a single-turn one becomes a dpo pair when a ``-NNb`` model answered differently.

    Rows are grouped by the md5 of their user turns. Memory holds one entry per distinct
    prompt: the first refusal-free GPT-4 chat (its record; later GPT-4 chats with the same
    prompt count as ``duplicate_prompt``), and for other models only the (size, last answer)
    of the largest ``-NNb`` model (first seen on ties). Rows of other models never become
    records themselves; they count as ``rejected_candidate`` (a ``-NNb`` model) or ``not_gpt4``.
    A pair's chosen answer is the GPT-4 one, its rejected answer that model's last turn.
    """
    gpt4: dict[str, dict] = {}
    others: dict[str, tuple[int, str]] = {}
    size_pattern = re.compile(ctx.options["size_pattern"])

    def collect(row: dict, ctx: ConvertContext) -> tuple:
        conversation = row["conversation"]
        digest = _digest(conversation)
        if row["model"] == ctx.options["chosen_model"]:
            ctx.skip_if_refusal("\n".join(t["content"] for t in conversation if t["role"] == "assistant"))
            if digest in gpt4:
                raise Skip("duplicate_prompt")
            gpt4[digest] = _chat(conversation)
            return ()
        match = size_pattern.search(row["model"])
        if match is None:
            raise Skip("not_gpt4")
        size, answer = int(match.group(1)), conversation[-1]["content"]
        if not isinstance(answer, str):
            raise TypeError("content")
        if digest not in others or size > others[digest][0]:
            others[digest] = (size, answer)
        raise Skip("rejected_candidate")

    deque(ctx.each(rows, collect), maxlen=0)
    for digest, rec in gpt4.items():
        turns = rec["conversations"]
        if len(turns) == 2 and digest in others and others[digest][1] != turns[1]["value"]:
            yield preference_pair(turns[0]["value"], turns[1]["value"], others[digest][1])
        else:
            yield rec


SOURCE = Source(
    name="lmsys_chat_1m",
    kind="sft+dpo",
    confidence=2,
    description="Chats collected by the lmsys chat arena, containing a wide variety of chats with various models.",
    license="LMSYS-Chat-1M Dataset License Agreement",
    # Gated: accept the terms on the dataset page and set HF_TOKEN. Parquet data/train-* (card).
    hub_id="lmsys/lmsys-chat-1m",
    split="train",
    convert_rows=convert,
    options={"chosen_model": "gpt-4", "size_pattern": r"-([0-9]{2})b"},
)
