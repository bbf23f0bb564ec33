"""Near-duplicate dedup: shingles, LSH parameters, in-order matching, spilling, and recall on real questions."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from bagel import dedup
from bagel.near_dedup import NearIndex, lsh_params, normalise, shingle_hashes

GSM8K = Path(__file__).parent / "fixtures" / "dedup" / "gsm8k_train_questions.jsonl.gz"
FILLERS = ("really", "then", "also", "now", "exactly", "total")


def test_normalise_drops_case_punctuation_and_spacing():
    assert normalise("  Hello,   WORLD!\nHow_are you? ") == "hello world how are you"


def test_shingles_per_row():
    tokens, offsets = shingle_hashes(["abcdef", "ab", "", "ABCDEF!"], 5)
    assert offsets.tolist() == [0, 2, 3, 3, 5]  # 2 windows, 1 (short text), none (empty), 2
    assert tokens[0:2].tolist() == tokens[3:5].tolist()  # same text once normalised
    assert len(set(tokens[0:3].tolist())) == 3


def test_lsh_params_lean_to_recall_at_the_threshold():
    assert lsh_params(0.8, 128) == (11, 11)
    bands, rows = lsh_params(0.5, 128)
    assert bands * rows <= 128


def test_exact_and_near_copies_match_the_first_kept_row_in_order():
    index = NearIndex(0.8, 128, 5)
    base = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May?")
    first = index.filter([base, "A completely different question about trains and apples?"], np.array([10, 11]),
                         check=True, add=True)
    assert first.tolist() == [-1, -1]
    again = index.filter([base.upper(), base.replace("April", "March"), "Something else entirely, about boats.",
                          "Something else entirely, about boats!", ""], np.array([20, 21, 22, 23, 24]),
                         check=True, add=True)
    assert again.tolist() == [10, 10, -1, 22, -1]  # an empty key text is never a copy


def test_add_only_remembers_without_dropping():
    index = NearIndex(0.8, 128, 5)
    assert index.filter(["same text here", "same text here"], np.array([1, 2]), check=False, add=True).tolist() == [
        -1, -1]
    assert index.filter(["same text here"], np.array([3]), check=True, add=False).tolist() == [1]


def test_spilled_index_answers_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup, "_LEVEL0_MAX", 1000)  # merge (and spill) after every 1,000 keys
    texts = [f"question number {i} about {i * 7} apples and {i % 13} pears" for i in range(3000)]
    spilled = NearIndex(0.8, 128, 5, memory_budget=1024, spill_dir=tmp_path)
    for start in range(0, 3000, 500):
        spilled.filter(texts[start: start + 500], np.arange(start, start + 500), check=False, add=True)
    assert spilled.store.spilled and list(tmp_path.glob("run-*.payload.npy"))
    memory = NearIndex(0.8, 128, 5)
    memory.filter(texts, np.arange(3000), check=False, add=True)
    probe = [t.upper() for t in texts[::97]]
    refs = np.arange(len(probe)) + 10_000
    assert spilled.filter(probe, refs, check=True, add=False).tolist() == \
        memory.filter(probe, refs, check=True, add=False).tolist()


def _light_edit(question: str, rng: random.Random) -> str:
    """One or two small edits: case/punctuation/spacing, a word dropped, replaced, swapped, inserted, or a typo."""
    for _ in range(rng.randint(1, 2)):
        words = question.split()
        i, kind = rng.randrange(len(words)), rng.randrange(6)
        if kind == 0:
            question = question.upper() if rng.random() < 0.5 else question.replace(",", "").replace(" ", "  ")
            continue
        if kind == 1 and len(words) > 3:
            del words[i]
        elif kind == 2:
            words[i] = rng.choice(FILLERS)
        elif kind == 3 and i + 1 < len(words):
            words[i], words[i + 1] = words[i + 1], words[i]
        elif kind == 4:
            words.insert(i, rng.choice(FILLERS))
        else:
            j = rng.randrange(len(words[i]))
            words[i] = words[i][:j] + rng.choice("abcdefghij") + words[i][j + 1:]
        question = " ".join(words)
    return question


@pytest.mark.parametrize("part", [0, 1])  # even rows (the defaults were tuned there) and odd rows (held out)
def test_real_questions_edited_copies_removed_distinct_kept(part):
    questions = [json.loads(line)["question"] for line in gzip.open(GSM8K, "rt", encoding="utf-8")][part::2]
    rng = random.Random(part)
    copies = [_light_edit(q, rng) for q in questions]
    index = NearIndex(0.8, 128, 5)
    originals = index.filter(questions, np.arange(len(questions)), check=True, add=True)
    matched = index.filter(copies, np.arange(len(copies)) + 100_000, check=True, add=True)
    lost = int((originals >= 0).sum())
    assert lost < 0.01 * len(questions)
    caught = int((matched >= 0).sum())
    assert caught >= 0.9 * len(copies), caught
    assert int((matched == np.arange(len(copies))).sum()) >= caught - 2  # matched to their own original
