"""gutenberg: public-domain novels from Project Gutenberg, one ``text`` row per chapter (gutenberg.org)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePath

from bagel import records
from bagel.log import logger
from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.chapters import split_chapters
from bagel.sources.io import FILE, download_text

URL = "https://www.gutenberg.org/files/{id}/{id}-0.txt"
BOOKS = {
    244: "A Study in Scarlet",
    98: "A Tale of Two Cities",
    1399: "Anna Karenina",
    41445: "Frankenstein",
    76: "Huckleberry Finn",
    2413: "Madame Bovary",
    145: "Middlemarch",
    2701: "Moby Dick",
    1342: "Pride and Prejudice",
    28054: "The Brothers Karamazov",
    209: "The Turn of the Screw",
    36: "The War of the Worlds",
    12: "Through the Looking Glass",
    120: "Treasure Island",
    203: "Uncle Tom’s Cabin",
    768: "Wuthering Heights",
}


def fetch(source: Source) -> Iterator[list[dict]]:
    """Download each book of ``options["books"]``; one row per book, named ``<id>-0.txt``."""
    for book_id in source.options["books"]:
        logger.info("gutenberg: downloading book %s", book_id)
        yield [{"text": download_text(source.options["url"].format(id=book_id)), FILE: f"{book_id}-0.txt"}]


def title_of(file_name: str, books: dict) -> str:
    """The title for a book file: from ``books`` when its name starts with a known id, else the name before any dot."""
    stem = PurePath(file_name).name.split(".")[0]
    match = re.match(r"\d+", stem)
    titles = {int(book_id): title for book_id, title in books.items()}
    if match and int(match.group()) in titles:
        return titles[int(match.group())]
    return stem or "untitled"


def convert(row: dict, ctx: ConvertContext) -> list[dict]:
    """One ``text`` record per chapter (stripped), source ``gutenberg <title>``; id = uuid5 of the chapter."""
    chapters = split_chapters(row["text"])
    if not chapters:
        raise Skip("no_chapters")
    source = f"gutenberg {title_of(row.get(FILE) or '', ctx.options['books'])}"
    return [{**records.text(chapter), "source": source} for chapter in chapters]


SOURCE = Source(
    name="gutenberg",
    kind="text",
    confidence=3,
    description=(
        "Books/plain text, again to make the model less boring, only a handful of examples supported by chapterize."
    ),
    license="Public domain (Project Gutenberg License)",
    hub_id=None,
    split=None,
    fetch=fetch,
    convert_row=convert,
    dedup="add",
    options={"books": BOOKS, "url": URL},
)
