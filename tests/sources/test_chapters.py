from pathlib import Path

import pytest

from bagel.sources.chapters import book_lines, split_chapters
from bagel.sources.io import read_local

BOOKS = Path(__file__).parents[1] / "fixtures" / "sources" / "gutenberg"


def book(name):
    return next(read_local(BOOKS / name))[0]["text"]


@pytest.mark.parametrize(
    ("name", "count", "first", "last"),
    [
        # CHAPTER <roman>, numbering restarting in each of three VOLUMEs
        ("austen-emma-excerpt.txt", 55, "Emma Woodhouse, handsome, clever, and rich", "really able to accept\nFINIS"),
        ("austen-persuasion.txt.gz", 24, "Sir Walter Elliot, of Kellynch Hall", "national importance.\n\n\n\n        Finis"),
        ("austen-sense-excerpt.txt", 50, "The family of Dashwood had long been settled in Sussex.", "fearful of incurring,\nTHE END"),
        ("chesterton-thursday.txt.gz", 15, "THE TWO POETS OF SAFFRON PARK", "gravity\nof a girl."),
    ],
)
def test_real_books(name, count, first, last):
    chapters = split_chapters(book(name))
    assert len(chapters) == count
    assert chapters[0].startswith(first)
    assert chapters[-1].endswith(last)
    assert all(chapter == chapter.strip() and chapter for chapter in chapters)
    assert not any("Project Gutenberg" in chapter for chapter in chapters)


def test_modern_markers_and_table_of_contents():
    assert split_chapters(book("1342-0.txt")) == [
        "It is a truth universally acknowledged, that a single man in possession\nof a good fortune, must be in "
        'want of a wife.\n\n"My dear Mr. Bennet," said his lady to him one day, "have you heard that\nNetherfield '
        'Park is let at last?"',
        "Mr. Bennet was among the earliest of those who waited on Mr. Bingley.\nHe had always intended to visit him.",
        "Not all that Mrs. Bennet, however, with the assistance of her five\ndaughters, could ask on the subject, was sufficient.",
    ]


def test_header_and_footer_removed():
    text = "Header\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\nbody\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nlicense"
    assert book_lines(text) == ["body"]
    assert book_lines("no markers\nat all") == ["no markers", "at all"]


def test_numeral_headings_and_divisions():
    text = "\n".join(
        [
            "BOOK ONE",
            "",
            "I.",
            "THE EVE OF THE WAR.",
            "",
            "No one would have believed.",
            "",
            "II. The Falling Star",
            "",
            "Then came the night.",
            "",
            "BOOK TWO",
            "",
            "Part of the text that no chapter owns.",
            "",
            "III.",
            "",
            "Under foot.",
            "I went on.",
        ]
    )
    assert split_chapters(text) == [
        "THE EVE OF THE WAR.\n\nNo one would have believed.",
        "Then came the night.",
        "Under foot.\nI went on.",
    ]


def test_divisions_only_and_no_headings():
    text = "\n\n".join(["PART I", "one", "PART II", "two", "PART III", "three\nmore"])
    assert split_chapters(text) == ["one", "two", "three\nmore"]
    assert split_chapters("Just a note.\nNothing else.") == []
