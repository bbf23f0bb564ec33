"""The refusal filter: drop rows whose text looks like a refusal or an "as an AI" disclaimer.

The 16 patterns are the original's (bagel ``data_sources/util.py``), compiled with
``re.IGNORECASE`` and searched from position 0: the original passed ``re.I`` as the
``pos`` argument of ``search``, so it matched case-sensitively from character 2. Which
text of a record is checked is declared per source (``responses``, ``all_turns``,
``chosen``); each removal is counted under ``refusal:<pattern>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DEFAULT_REFUSAL_PATTERNS = (
    "(against|violate) my programming",
    "openai",
    "language model",
    "large language",
    "as an? (ai|generative language|gpt|bot)",
    "illegal and dangerous",
    "important to note",
    "i do(n't| not) (possess|have|exhibit) (personal|consciousness|subjective)",
    "personal (feelings|thoughts|emotions|desires|experiences|goals|objective|belief)",
    "(can('t| ?not)|w(on't|will not)|unable.?) (\\w+\\s)+(with (that|your)|your \\w+|provide)",
    "my limitations",
    "the limitations of my",
    "my abilities",
    "violates my",
    "i (can('t| ?not)|w(on't|will not)|am (not |un)able.?).{0,30}(you are|you're|your )",
    "please note that",
)


class RefusalMatcher:
    """Finds the first refusal pattern a text matches (case-insensitive, from position 0).

    Patterns written in lower case (all the defaults) are matched case-sensitively against the
    lower-cased text, which gives the same answers as ``re.IGNORECASE`` and is several times
    faster; any other pattern is compiled with ``re.IGNORECASE``.
    """

    def __init__(self, patterns: Sequence[str] = DEFAULT_REFUSAL_PATTERNS):
        self.patterns = tuple(patterns)
        self._compiled = [
            (pattern, re.compile(pattern), True) if pattern == pattern.lower()
            else (pattern, re.compile(pattern, re.IGNORECASE), False)
            for pattern in self.patterns
        ]

    def __call__(self, text: str) -> str | None:
        """The first pattern (in list order) that ``text`` matches, or None."""
        if not text:
            return None
        lowered = text.lower()
        for pattern, compiled, on_lowered in self._compiled:
            if compiled.search(lowered if on_lowered else text):
                return pattern
        return None


def refusal_text(record: dict, scope: str) -> str:
    """The text of ``record`` that the refusal filter checks under ``scope``.

    ``responses``: the gpt turns joined by newlines (or the chosen answer of a pair);
    ``all_turns``: every turn joined; ``chosen``: the chosen answer.
    """
    turns = record.get("conversations") or []
    if scope == "all_turns":
        return "\n".join(t["value"] for t in turns)
    if scope == "responses" and turns:
        return "\n".join(t["value"] for t in turns if t["from"] == "gpt")
    return record.get("chosen") or ""
