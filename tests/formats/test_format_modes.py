"""Modes every / slices / random, per-item determinism, default-system coins and malformed items."""

from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pytest
from tests.formats.format_helpers import chat, chunked_table, render, sft_record

from bagel.errors import UserError
from bagel.formats import FormatOptions, Renderer
from bagel.records import item_uniform, record, to_table

FORMATS = ["alpaca", "vicuna", "chatml", "llama2"]
N = 401


def _items(n: int = N) -> list[dict]:
    """n single-turn chats and a tenth as many preference pairs."""
    chats = [sft_record(f"chat-{i}", f"question {i}", f"answer {i}") for i in range(n)]
    pairs = [record("dpo", id=f"pair-{i}", source="p", prompt=f"q{i}", chosen="yes", rejected="no") for i in range(n // 10)]
    return chats + pairs


def _formats_per_item(rows: list[dict]) -> dict[str, set[str]]:
    per_item: dict[str, set[str]] = {}
    for row in rows:
        per_item.setdefault(row["id"], set()).add(row["format"])
    return per_item


def test_every_gives_each_turn_in_all_formats():
    sft, dpo, _ = render([sft_record("a", "q", "r"), sft_record("b", "q1", "r1", "q2", "r2", "q3", "r3")])
    assert Counter(r["format"] for r in sft) == {f: 4 for f in FORMATS}
    assert len(_formats_per_item(sft)) == 4  # a, and the three expanded rows of b
    assert all(formats == set(FORMATS) for formats in _formats_per_item(sft).values())


def test_slices_put_each_item_in_exactly_three_formats():
    sft, dpo, _ = render(_items(), mode="slices")
    per_item = _formats_per_item(sft + dpo)
    assert len(per_item) == N + N // 10
    assert {len(formats) for formats in per_item.values()} == {3}
    counts = Counter(r["format"] for r in sft + dpo)
    total = N + N // 10
    assert sorted(counts.values()) == [total * 3 // 4, total * 3 // 4 + 1, total * 3 // 4 + 1, total * 3 // 4 + 1]


def test_slices_need_prepare():
    renderer = Renderer(FormatOptions(mode="slices"), 0)
    with pytest.raises(RuntimeError, match="prepare"):
        renderer.render_batch(to_table(_items(4)))
    renderer.prepare(["chat-0"])
    with pytest.raises(RuntimeError, match="chat-1 was not passed"):
        renderer.render_batch(to_table(_items(4)))
    renderer.prepare([])
    with pytest.raises(RuntimeError, match="chat-0 was not passed"):
        renderer.render_batch(to_table(_items(4)))


def test_slices_need_two_formats():
    with pytest.raises(UserError, match="at least two formats"):
        Renderer(FormatOptions(mode="slices", formats=["alpaca"]), 0)


def test_random_gives_one_format_per_item():
    sft, dpo, _ = render(_items(), mode="random")
    per_item = _formats_per_item(sft + dpo)
    assert len(per_item) == N + N // 10
    assert {len(formats) for formats in per_item.values()} == {1}
    assert set(Counter(r["format"] for r in sft).values()) != {0} and len(Counter(r["format"] for r in sft)) == 4


@pytest.mark.parametrize("mode", ["every", "slices", "random"])
def test_rows_do_not_depend_on_order_or_batches(mode):
    items = _items(200) + [sft_record("multi", "a", "b", "c", "d", system="s")]
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)

    def rows(records: list[dict], chunk: int) -> list[tuple]:
        renderer = Renderer(FormatOptions(mode=mode), seed=3)
        renderer.prepare(r["id"] for r in records)
        sft, dpo, _ = renderer.render_batch(chunked_table(records, chunk))
        return sorted(tuple(r.values()) for r in sft.to_pylist() + dpo.to_pylist())

    assert rows(items, 1000) == rows(shuffled, 7)


def test_choices_depend_on_the_seed():
    first, _, _ = render(_items(), mode="random", seed=1)
    second, _, _ = render(_items(), mode="random", seed=2)
    assert [r["format"] for r in first] != [r["format"] for r in second]


def test_default_system_coin_per_row():
    options = FormatOptions(formats=["vicuna"])  # default probability 0.35
    renderer = Renderer(options, seed=5)
    items = [sft_record(f"c{i}", "q1", "r1", "q2", "r2") for i in range(300)]
    sft, _, _ = renderer.render_batch(to_table(items))
    with_default = [r["id"] for r in sft.to_pylist() if r["input"].startswith("A chat between a user")]
    expected = [r["id"] for r in sft.to_pylist() if item_uniform(5, "system:vicuna", r["id"]) < 0.35]
    assert with_default == expected
    assert 0.25 < len(expected) / 600 < 0.45


def test_malformed_items_are_counted_and_skipped():
    human, gpt = {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}
    bad = [
        record("sft", id="b1", source="s", conversations=[]),
        record("sft", id="b2", source="s", conversations=None),
        record("sft", id="b3", source="s", conversations=[{"from": "system", "value": "only"}]),
        record("sft", id="b4", source="s", conversations=[human, human, gpt]),
        record("sft", id="b5", source="s", conversations=[gpt, human]),
        record("sft", id="b6", source="s", conversations=[human, gpt, {"from": "system", "value": "x"}, gpt]),
        record("sft", id="b7", source="s", conversations=[human, gpt, human]),
        record("sft", id="b8", source="s", conversations=[human, {"from": "gpt", "value": " \n"}]),
        record("sft", id="b9", source="s", conversations=[{"from": "human", "value": None}, gpt]),
        record("dpo", id="b10", source="s", prompt="p", chosen="", rejected="r"),
        record("text", id="b11", source="s", text=None),
        record("mystery", id="b12", source="s"),
    ]
    good = [sft_record("g1", "q", "a", system=""), record("sft", id="g2", source="s", conversations=chat("q", "a"))]
    sft, dpo, dropped = render(bad + good, formats=["vicuna"])
    assert dropped == {
        "malformed:no_turns": 3,
        "malformed:roles_do_not_alternate": 3,
        "malformed:does_not_end_with_gpt": 1,
        "malformed:empty_turn": 2,
        "malformed:empty_dpo_field": 1,
        "malformed:empty_text": 1,
        "malformed:unknown_kind": 1,
    }
    assert [(r["id"], r["input"]) for r in sft] == [("g1", "USER: q\nASSISTANT: "), ("g2", "USER: q\nASSISTANT: ")]
    assert dpo == []


def test_chats_longer_than_the_quick_role_check_are_checked_in_full():
    texts = [f"t{i}" for i in range(260)]  # 130 exchanges
    long_bad = chat(*texts)
    long_bad[-2]["from"] = "gpt"
    sft, _, dropped = render([sft_record("ok", *texts), record("sft", id="bad", source="s", conversations=long_bad)],
                             formats=["vicuna"])
    assert (len(sft), dropped) == (130, {"malformed:roles_do_not_alternate": 1})


def test_record_system_field_is_used_when_the_chat_has_no_system_turn():
    rec = record("sft", id="r", source="s", conversations=chat("q", "a"), system="Sys.")
    sft, _, _ = render([rec], formats=["vicuna"])
    assert sft[0]["input"] == "Sys.\nUSER: q\nASSISTANT: "


def test_empty_batch_and_missing_columns():
    sft, dpo, dropped = Renderer(FormatOptions(), 0).render_batch(to_table([]))
    assert (sft.num_rows, dpo.num_rows, dropped) == (0, 0, Counter())
    with pytest.raises(UserError, match="lack column"):
        Renderer(FormatOptions(), 0).render_batch(pa.table({"id": ["x"]}))
