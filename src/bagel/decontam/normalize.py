"""Text normalisation shared by the detectors: NFKC, casefold, apostrophes dropped, punctuation to space."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
import string
import unicodedata

SEP = "\ue000"  # ends each text in a joined batch (a private-use character, removed from the texts)
BREAK = "\ue001"  # a word no n-gram spans: between the question and each choice of an indexed item
_APOSTROPHE = re.compile(r"['\u2019\u02bc`]")
_NON_WORD = re.compile(r"(?:[^\w\ue000\ue001]|_)+")
LABEL = re.compile(r"^\s*(?:\(?[A-Ja-j1-9][.):]|[-*])\s+")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
# "1 . 5", "1 ,200": a point or comma after a space, between digits (text tokenised word by word; prose
# puts no space before a point or comma)
_SPACED_POINT = re.compile(r"(?<=\d) ([.,]) ?(?=\d)")
# "one" is left out: it is as often an article ("one monitor" = "a monitor") as a number
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
                                                    "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100"}
del _NUMBER_WORDS["one"]
_ASCII_BREAKS = bytes(32 if i < 128 and (chr(i) in string.punctuation or chr(i).isspace()) else i for i in range(256))


def _clean(text: str) -> str:
    return _NON_WORD.sub(" ", _APOSTROPHE.sub("", unicodedata.normalize("NFKC", text).casefold()))


def words(text: str) -> list[str]:
    """The normalised words of ``text``: NFKC, casefold, apostrophes removed ("Janet’s" -> "janets"),
    every other run of punctuation, ``_`` or whitespace a word break."""
    return _clean(text.replace(SEP, " ")).split()


def segmented(text: str) -> str:
    """``text`` with a :data:`BREAK` word between its lines and each line's choice label removed
    ("A. ", "(2) ", "- "): the question and each choice of a multiple-choice item as separate spans."""
    return f" {BREAK} ".join(LABEL.sub("", line) for line in text.split("\n") if line.strip())


def numbers(text: str, spaced: bool = False) -> set[str]:
    """The distinct numbers of ``text``, normalised ("1,200" -> "1200", "1.50" -> "1.5", "three" -> "3").

    With ``spaced``, a point or comma with a space before it between digits ("1 . 5", as word-by-word
    tokenised text writes 1.5) also joins them: such numbers are read both ways ("1", "5" and "1.5").
    """
    found = numbers(_SPACED_POINT.sub(r"\1", text)) if spaced and _SPACED_POINT.search(text) else set()
    for raw in _NUMBER.findall(text):
        value = raw.replace(",", "")
        found.add(value.rstrip("0").rstrip(".") if "." in value else value.lstrip("0") or "0")
    return found | {_NUMBER_WORDS[w] for w in words(text) if w in _NUMBER_WORDS}


def _joined_ascii(texts: list[str]) -> list[str]:
    # For ASCII, NFKC is the identity and casefold is lower(): bytes-level passes give the same words.
    body = f" {SEP} ".join(texts).encode() + f" {SEP}".encode()
    return body.lower().replace(b"'", b"").replace(b"`", b"").translate(_ASCII_BREAKS).decode().split()


def joined_words(texts: list[str]) -> tuple[list[str], list[int]]:
    """The normalised words of many texts in one list, each text followed by the word :data:`SEP`.

    Texts come out ASCII ones first (fast bytes path), then the others (Unicode path); the second
    value lists the input index of each text in output order. Same words as :func:`words`.
    """
    texts = [t.replace(SEP, " ") for t in texts]
    plain = [i for i, t in enumerate(texts) if t.isascii()]
    other = [i for i, t in enumerate(texts) if not t.isascii()] if len(plain) < len(texts) else []
    out = _joined_ascii([texts[i] for i in plain]) if plain else []
    if other:
        out += _clean(f" {SEP} ".join(texts[i] for i in other) + f" {SEP}").split()
    return out, plain + other


def longest_span(text: str, other: str) -> str:
    """The longest run of normalised words that ``text`` and ``other`` share, joined by spaces."""
    mine, theirs = words(text), words(other)
    match = SequenceMatcher(None, mine, theirs, autojunk=False).find_longest_match(0, len(mine), 0, len(theirs))
    return " ".join(mine[match.a : match.a + match.size])
