import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from bagel.errors import UserError
from bagel.pipeline.convert import convert_file
from bagel.records import make_id
from bagel.sources import registry
from bagel.sources.gutenberg import title_of

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "gutenberg"


def test_one_text_row_per_chapter_titled_by_book():
    recs, counts = convert_file(registry()["gutenberg"], FIXTURE)
    assert Counter(rec["source"] for rec in recs) == {
        "gutenberg Pride and Prejudice": 3,  # 1342-0.txt: a known book id
        "gutenberg austen-emma-excerpt": 55,
        "gutenberg austen-persuasion": 24,
        "gutenberg austen-sense-excerpt": 50,
        "gutenberg chesterton-thursday": 15,
    }
    assert counts == {"in": 6, "kept": 147, "no_chapters": 1}
    pride = recs[0]
    assert pride["kind"] == "text"
    assert pride["text"].startswith("It is a truth universally acknowledged")
    assert pride["id"] == make_id(pride["text"])
    assert registry()["gutenberg"].dedup == "add"


def test_titles():
    books = {41445: "Frankenstein"}
    assert title_of("41445-0.txt", books) == "Frankenstein"
    assert title_of("41445-0.txt", {"41445": "Frankenstein"}) == "Frankenstein"
    assert title_of("sub/austen-emma.txt.gz", books) == "austen-emma"


def test_fetch_without_network_is_a_user_error():
    source = registry()["gutenberg"]
    offline = dataclasses.replace(source, options={**source.options, "url": "http://127.0.0.1:9/{id}.txt"})
    with pytest.raises(UserError, match="could not download http://127.0.0.1:9/244.txt"):
        next(source.fetch(offline))
