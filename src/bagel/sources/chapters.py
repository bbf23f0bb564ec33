"""Split a Project Gutenberg plain-text book into chapters (our stand-in for the ``chapterize`` tool).

1. The Gutenberg header and footer are cut: the book starts after the ``*** START OF THE PROJECT
   GUTENBERG EBOOK ...`` line (or, in old etexts, after ``*END*THE SMALL PRINT! ...``) and ends
   before the first ``*** END OF THE PROJECT GUTENBERG ...`` / ``End of (the) Project Gutenberg ...``
   line after it. Without markers the whole text is kept.
2. Headings are lines that look like ``CHAPTER I`` / ``Chapter 1`` / ``Chapter One`` /
   ``Chapter the First`` (any case, an optional title after the number) or, when they open a
   paragraph (follow a blank line), like a division, ``BOOK I`` / ``PART ONE`` / ``VOLUME II`` /
   ``Book the First``, or a bare numeral, ``XII`` or ``12``, or one with a title, ``II. The Mail``.
3. Chapters are started by the chapter-word headings, or by the numeral headings when a book has
   fewer than ``min_chapters`` of those, or by the divisions when it has neither. A chapter runs
   to the next heading of the chosen kind, the next division, or the end of the book; the
   heading line itself is not part of it. Headings of the chosen kind closer than ``toc_gap``
   lines to a neighbour are a table of contents and are dropped (both of each close pair, as
   ``chapterize`` does). Each chapter is stripped; empty ones are dropped.
"""

from __future__ import annotations

import re

ROMAN = r"(?=[MDCLXVI])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
UNITS = "one|two|three|four|five|six|seven|eight|nine"
TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
ORDINALS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last"
WORDS = rf"(?:(?:{TENS})(?:[- ](?:{UNITS}))?|{TEENS}|{UNITS}|the (?:{ORDINALS}))"
ENUMERATOR = rf"(?:\d+|{ROMAN}|{WORDS})(?!\w)"

CHAPTER = re.compile(rf"\s*chapter\s+{ENUMERATOR}", re.IGNORECASE)
DIVISION = re.compile(rf"\s*(?:book|part|volume)\s+{ENUMERATOR}", re.IGNORECASE)
NUMERAL = re.compile(rf"\s*(?:{ROMAN}|\d+)(?:\.\s+[A-Z].*|\.?)\s*$")  # case-sensitive: "II. The Mail", "XII"

START = re.compile(r"\s*\*+\s*(?:start of (?:the|this) project gutenberg|end\s*\*+\s*the small print)", re.IGNORECASE)
END = re.compile(r"\s*(?:\*+\s*end of (?:the|this) project gutenberg|end of (?:the )?project gutenberg)", re.IGNORECASE)


def book_lines(text: str) -> list[str]:
    """The lines of the book proper: the Gutenberg header and footer removed."""
    lines = text.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if START.match(line)), 0)
    end = next((i for i in range(start, len(lines)) if END.match(lines[i])), len(lines))
    return lines[start:end]


def _headings(lines: list[str], pattern: re.Pattern, *, after_blank: bool = False) -> list[int]:
    """Indices of the lines matching ``pattern`` (with ``after_blank``: only those opening a paragraph)."""
    return [
        i
        for i, line in enumerate(lines)
        if pattern.match(line) and not (after_blank and i and lines[i - 1].strip())
    ]


def _without_toc(headings: list[int], toc_gap: int) -> list[int]:
    """``headings`` minus both members of every pair closer than ``toc_gap`` lines."""
    close = set()
    for a, b in zip(headings, headings[1:]):
        if b - a < toc_gap:
            close.update((a, b))
    return [h for h in headings if h not in close]


def split_chapters(text: str, *, min_chapters: int = 3, toc_gap: int = 4) -> list[str]:
    """The chapters of a Gutenberg book, in order, each stripped (see the module docstring)."""
    lines = book_lines(text)
    divisions = _headings(lines, DIVISION, after_blank=True)
    starts: list[int] = []
    for pattern, after_blank in ((CHAPTER, False), (NUMERAL, True)):
        starts = _without_toc(_headings(lines, pattern, after_blank=after_blank), toc_gap)
        if len(starts) >= min_chapters:
            break
    else:
        starts = _without_toc(divisions, toc_gap)
    bounds = sorted({*starts, *divisions, len(lines)})
    chapters = []
    for start in starts:
        end = bounds[bounds.index(start) + 1]
        chapter = "\n".join(lines[start + 1 : end]).strip()
        if chapter:
            chapters.append(chapter)
    return chapters
