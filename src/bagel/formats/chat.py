"""Chat validation: split a conversation into its system prompt and alternating human/gpt texts.

A valid chat is an optional leading ``system`` turn, then turns alternating ``human``,
``gpt``, ``human``, ... ending with ``gpt`` (training) or ``human`` (a prompt for
generation); no human/gpt turn may be empty or whitespace only. An empty system turn
counts as no system prompt. Anything else raises :class:`MalformedChat` with the reason.
"""

from __future__ import annotations

import re

# The roles of the OpenAI / transformers message style, mapped onto ours.
ROLE_ALIASES = {"user": "human", "assistant": "gpt", "system": "system", "human": "human", "gpt": "gpt"}

_NEWLINE_RUN = re.compile(r"\n{3,}")
_ALTERNATING = ["human", "gpt"] * 64  # the role sequence of a valid chat (longer chats take the slow checks)


class MalformedChat(ValueError):
    """A chat that cannot be rendered; ``reason`` is the counter key, e.g. ``malformed:empty_turn``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = f"malformed:{reason}"


def split_chat(roles: list, texts: list, *, last: str = "gpt") -> tuple[str | None, list[str]]:
    """Validate a chat and return ``(system or None, [human, gpt, human, ...] texts)``.

    ``last`` is the role the chat must end with: ``"gpt"`` for training rows,
    ``"human"`` for a prompt to generate from. Raises :class:`MalformedChat`.
    """
    start = 1 if roles and roles[0] == "system" else 0
    system = texts[0] if start and texts[0] and not texts[0].isspace() else None
    n_turns = len(roles) - start
    if not n_turns or roles[start:] != _ALTERNATING[:n_turns] or n_turns % 2 != (last == "human"):
        # a chat failing that quick test fails one of these (a long valid one passes them)
        if not n_turns:
            raise MalformedChat("no_turns")
        human, gpt = roles[start::2], roles[start + 1 :: 2]
        if human.count("human") != len(human) or gpt.count("gpt") != len(gpt):
            raise MalformedChat("roles_do_not_alternate")
        if len(human) != len(gpt) + (last == "human"):
            raise MalformedChat(f"does_not_end_with_{last}")
    turns = texts[start:]
    for text in turns:
        if not text or text.isspace():
            raise MalformedChat("empty_turn")
    return system, turns


def normalize(conversation: list[dict]) -> tuple[list[str], list[str]]:
    """Roles and texts of a conversation given as ``{from, value}`` or ``{role, content}`` dicts."""
    roles, texts = [], []
    for turn in conversation:
        role = turn.get("from", turn.get("role"))
        roles.append(ROLE_ALIASES.get(role, role))
        texts.append(turn.get("value", turn.get("content")))
    return roles, texts


def collapse_newlines(text: str) -> str:
    """Collapse every run of 3+ newlines to exactly two."""
    return _NEWLINE_RUN.sub("\n\n", text) if "\n\n\n" in text else text
