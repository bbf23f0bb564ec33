"""The compiled MinHash kernels: normalising, shingles, signatures, band keys and sketches, checked against a
plain-Python statement of the same definitions."""

from __future__ import annotations

import random
import re
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from bagel.minhash import DENSIFY_TRIES, EMPTY, SEED, BandKeys, band_keys, by_partition, shingle_hashes
from bagel.near_dedup import lsh_params
from bagel.records import RECORD_SCHEMA

MASK = (1 << 64) - 1


def _mix(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _shingles(text: str, ngram: int) -> list[int]:
    data = re.sub(rb"[^a-z0-9\x80-\xff]+", b" ", text.lower().encode()).strip(b" ")
    windows = ([data[at: at + ngram] for at in range(len(data) - ngram + 1)] if len(data) >= ngram
               else [data.ljust(ngram, b"\0")] if data else [])
    out = []
    for window in windows:
        hashed = SEED
        for first in range(0, ngram, 8):
            hashed = _mix(int.from_bytes(window[first: first + 8], "little") ^ hashed)
        out.append(hashed)
    return out


def _signature(hashes: list[int], num_perm: int) -> list[int]:
    sig = [int(EMPTY)] * num_perm
    for h in hashes:
        sig[((h >> 32) * num_perm) >> 32] = min(sig[((h >> 32) * num_perm) >> 32], h & 0xFFFFFFFF)
    filled = [v != EMPTY for v in sig]
    for b in range(num_perm):
        if not filled[b] and hashes:
            tries = [_mix(attempt * num_perm + b) % num_perm for attempt in range(DENSIFY_TRIES)]
            sig[b] = sig[next((d for d in tries if filled[d]), filled.index(True))]
    return sig


def _band_keys(sig: list[int], bands: int, rows: int) -> list[int]:
    multipliers = [_mix(place) | 1 for place in range(rows)]
    return [_mix(((band + 1) * 0x9E3779B97F4A7C15 + sum(sig[band * rows + col] * multipliers[col]
                                                      for col in range(rows))) & MASK) for band in range(bands)]


TEXTS = ["  Hello,   WORLD!\nHow_are you? ", "abcdef", "ab", "", "!!", "Ünïcode straße 日本語 text, twice",
         "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
         "x" * 300, "a b c d e f g h"]


def test_normalising_drops_case_punctuation_and_spacing():
    tokens, offsets = shingle_hashes(["  Hello,   WORLD!\nHow_are you? ", "hello world how are you",
                                      "Straße -- ÜBER!", "straße über", "hello world how are yo"], 5)
    rows = [tokens[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]
    assert rows[0] == rows[1] and rows[2] == rows[3] and rows[4] == rows[1][:-1]


def test_shingles_per_row():
    tokens, offsets = shingle_hashes(["abcdef", "ab", "", "ABCDEF!"], 5)
    assert offsets.tolist() == [0, 2, 3, 3, 5]  # 2 windows, 1 (short text), none (empty), 2
    assert tokens[0:2].tolist() == tokens[3:5].tolist()  # same text once normalised
    assert tokens.tolist()[:3] == _shingles("abcdef", 5) + _shingles("ab", 5)


@pytest.mark.parametrize("ngram", [1, 5, 8, 11])
def test_shingles_equal_the_definition(ngram):
    tokens, offsets = shingle_hashes(TEXTS, ngram)
    assert [tokens[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == [_shingles(t, ngram) for t in TEXTS]


@pytest.mark.parametrize(("num_perm", "ngram"), [(128, 5), (32, 11)])
def test_band_keys_and_sketches_equal_the_definition(num_perm, ngram):
    bands, rows = lsh_params(0.8, num_perm)
    keys, sketches, has = BandKeys(0.8, num_perm, ngram).keys(TEXTS)
    sigs = [_signature(_shingles(text, ngram), num_perm) for text in TEXTS]
    assert has.tolist() == [bool(_shingles(text, ngram)) for text in TEXTS]
    for row, sig in enumerate(sigs):
        if has[row]:
            assert keys[row].tolist() == _band_keys(sig, bands, rows)
            assert sketches[row].tolist() == [v & 0xFF for v in sig]
    assert band_keys(np.array([s for s, h in zip(sigs, has) if h], dtype=np.uint32), bands, rows).tolist() == \
        keys[has].tolist()


def test_band_keys_do_not_depend_on_the_batch():
    rng = random.Random(0)
    texts = [" ".join(rng.choice(["apples", "pears", "42", "How", "many?"]) for _ in range(rng.randint(0, 30)))
             for _ in range(1000)]
    bander = BandKeys(0.8, 128, 5)
    whole = bander.keys(texts)
    for i in range(0, 1000, 97):
        alone = bander.keys([texts[i]])
        assert all(np.array_equal(one[0], every[i]) for one, every in zip(alone, whole))


def test_a_build_without_near_dedup_does_not_load_numba():
    code = ("import sys; import bagel.cli, bagel.pipeline.build, bagel.pipeline.steps, bagel.pipeline.near; "
            "print('numba' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_records_hash_as_their_key_texts():
    chat = [{"from": "human", "value": "How many apples?"}, {"from": "gpt", "value": "Three."},
            {"from": "human", "value": None}, {"from": "human", "value": "AND pears!"}]
    rows = [{"kind": "sft", "conversations": chat}, {"kind": "dpo", "prompt": "Which is better, tea or coffee?"},
            {"kind": "text", "text": "A plain text about rivers."}, {"kind": "sft", "conversations": []}]
    texts = ["How many apples?\nAND pears!", "Which is better, tea or coffee?", "A plain text about rivers.", ""]
    table = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA)
    bander = BandKeys(0.8, 128, 5)
    assert all(np.array_equal(a, b) for a, b in zip(bander.keys(table), bander.keys(texts)))
    assert [np.array_equal(a, b) for a, b in zip(shingle_hashes(table, 5), shingle_hashes(texts, 5))] == [True, True]


def test_pieces_are_read_in_place_and_non_ascii_ones_lower_cased():
    chat = [{"from": "human", "value": "ÜBER die STRASSE, bitte"}, {"from": "gpt", "value": "Ja."},
            {"from": "human", "value": "Plain ASCII TURN"}]
    rows = [{"kind": "text", "text": "skipped by the slice"}, {"kind": "sft", "conversations": chat},
            {"kind": "dpo", "prompt": "ΑΘΗΝΑ rolls a STONE"}, {"kind": "text", "text": "Ünïcode TEXT"}]
    table = pa.Table.from_pylist(rows, schema=RECORD_SCHEMA).slice(1)  # arrays with an offset
    texts = ["über die strasse, bitte plain ascii turn", "αθηνα rolls a stone", "ünïcode text"]
    tokens, offsets = shingle_hashes(table, 5)
    assert [tokens[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])] == [_shingles(t, 5) for t in texts]
    wide = pa.array(["ÜBER die STRASSE", None, "plain"], pa.large_string())
    assert shingle_hashes(wide, 5)[1].tolist() == [0, 13, 13, 14]  # 17 bytes, a null, a short text


def test_band_keys_group_by_partition_in_row_order():
    keys = np.array([[2**64 - 1, 2**63 + 5, 7], [4, 5, 6], [9, 2**64 - 3, 10]], dtype=np.uint64)
    grouped, refs, bounds = by_partition(keys, np.array([True, False, True]), np.array([10, 11, 12]), 3)
    assert bounds.tolist() == [0, 2, 6, 6]  # key % 3: 0 1 1 | (no shingle) | 0 1 1
    assert grouped.tolist() == [2**64 - 1, 9, 2**63 + 5, 7, 2**64 - 3, 10]
    assert refs.tolist() == [10, 12, 10, 10, 12, 12]
