"""Text normalisation shared by the detectors: NFKC, casefold, apostrophes dropped, punctuation to space."""

from __future__ import annotations

import re
import string
import unicodedata

SEP = "\ue000"  # ends each text in a joined batch (a private-use character, removed from the texts)
_APOSTROPHE = re.compile(r"['\u2019\u02bc`]")
_NON_WORD = re.compile(r"(?:[^\w\ue000]|_)+")
_ASCII_BREAKS = bytes(32 if i < 128 and (chr(i) in string.punctuation or chr(i).isspace()) else i for i in range(256))


def _clean(text: str) -> str:
    return _NON_WORD.sub(" ", _APOSTROPHE.sub("", unicodedata.normalize("NFKC", text).casefold()))


def words(text: str) -> list[str]:
    """The normalised words of ``text``: NFKC, casefold, apostrophes removed ("Janet’s" -> "janets"),
    every other run of punctuation, ``_`` or whitespace a word break."""
    return _clean(text.replace(SEP, " ")).split()


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
