"""The unified record: one Arrow schema for every source, plus ids and per-item seeding.

A record is a plain dict with exactly the keys of :data:`RECORD_SCHEMA`:

- ``id``: the dedup key, ``str(uuid5(NAMESPACE_OID, key_text))`` (see :func:`make_id`);
- ``source``: the source name (``airoboros_writing``, ``toxic-dpo`` ...);
- ``confidence``: the source's load priority (3 = most trusted);
- ``kind``: ``"sft"``, ``"dpo"`` or ``"text"``;
- ``conversations``: list of ``{"from": "system"|"human"|"gpt", "value": str}`` (sft);
- ``system``: the system prompt (also the first ``system`` turn of an sft chat), or None;
- ``prompt``, ``chosen``, ``rejected``: the preference pair (dpo);
- ``text``: the plain text (text).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pyarrow as pa

KINDS = ("sft", "dpo", "text")
ROLES = ("system", "human", "gpt")

TURN_TYPE = pa.struct([("from", pa.string()), ("value", pa.string())])

RECORD_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("source", pa.string()),
        ("confidence", pa.int8()),
        ("kind", pa.string()),
        ("conversations", pa.list_(TURN_TYPE)),
        ("system", pa.string()),
        ("prompt", pa.string()),
        ("chosen", pa.string()),
        ("rejected", pa.string()),
        ("text", pa.string()),
    ]
)
RECORD_FIELDS = tuple(RECORD_SCHEMA.names)
STRATUM = "_stratum"  # optional key a converter sets for stratified sampling (kept until the sample step)


_OID = uuid.NAMESPACE_OID.bytes
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}  # RFC 4122 variant bits


def as_array(values) -> pa.Array:
    """Strings, or an Arrow (chunked) array, as one Arrow array."""
    values = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, pa.string())
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def make_id(key_text: str) -> str:
    """Return the dedup id of ``key_text``: ``str(uuid5(NAMESPACE_OID, key_text))``, built from the SHA-1
    digest directly (4x faster than through ``uuid.UUID``; same string)."""
    digest = hashlib.sha1(_OID + key_text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{_VARIANT[digest[16]]}{digest[17:20]}-{digest[20:32]}"


def record(kind: str, *, id: str, source: str = "", confidence: int = 0, **fields: Any) -> dict:
    """Build a record dict with every schema field present (unset ones are None)."""
    rec = dict.fromkeys(RECORD_FIELDS)
    rec.update(id=id, source=source, confidence=confidence, kind=kind, **fields)
    return rec


def sft(key_text: str, conversations: list[dict], *, id: str | None = None) -> dict:
    """An sft record whose id is the uuid5 of ``key_text`` (or ``id`` when given)."""
    system = conversations[0]["value"] if conversations and conversations[0]["from"] == "system" else None
    return record("sft", id=id or make_id(key_text), conversations=conversations, system=system)


def single_turn(instruction: str, response: str, *, system: str | None = None) -> dict:
    """The shared instruction/response shape: id = uuid5 of the human turn exactly as rendered."""
    turns = [{"from": "system", "value": system}] if system else []
    turns += [{"from": "human", "value": instruction}, {"from": "gpt", "value": response}]
    return sft(instruction, turns)


def dpo(prompt: str, chosen: str, rejected: str, *, key_text: str | None = None) -> dict:
    """A dpo record; the id is the uuid5 of the prompt unless ``key_text`` is given."""
    return record(
        "dpo", id=make_id(prompt if key_text is None else key_text), prompt=prompt, chosen=chosen, rejected=rejected
    )


def text(body: str, *, key_text: str | None = None) -> dict:
    """A plain-text record; the id is the uuid5 of the text unless ``key_text`` is given."""
    return record("text", id=make_id(body if key_text is None else key_text), text=body)


def item_hash(seed: int, purpose: str, item_id: str) -> int:
    """A 64-bit hash of (seed, purpose, item id): the root of every per-item random choice.

    Because it depends only on the seed and the id, choices do not depend on row
    order, batch boundaries or the number of workers.
    """
    digest = hashlib.blake2b(f"{seed}\x1f{purpose}\x1f{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def item_uniform(seed: int, purpose: str, item_id: str) -> float:
    """A uniform float in [0, 1) derived from :func:`item_hash`."""
    return item_hash(seed, purpose, item_id) / 2.0**64


def to_table(records: list[dict]) -> pa.Table:
    """Records (dicts) to an Arrow table in :data:`RECORD_SCHEMA`."""
    return pa.Table.from_pylist(records, schema=RECORD_SCHEMA)
