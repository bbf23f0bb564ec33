"""Word counting without a tokenizer: Arrow's count equals ``len(text.split())``."""

from __future__ import annotations

import random

import pyarrow as pa

from bagel.tokens import TokenCounter

SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]


def test_word_count_equals_python_split_over_every_whitespace_character():
    rng = random.Random(7)
    pieces = SPACES + ["a", "bé", "日本", "\u200b", "x_y", "", "\x00", "\U0001f600"]
    texts = ["", " ", "one", " two  words ", *("".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
                                               for _ in range(2000))]
    counter = TokenCounter(None)
    expected = [len(text.split()) for text in texts]
    assert counter.count(texts).tolist() == expected
    assert counter.count(pa.array(texts + [None])).tolist() == expected + [0]
    assert counter.unit == "words"
