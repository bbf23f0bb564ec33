"""The mix step: weighted shares of `mix: {rows}` / `mix: {tokens}`, water-filling, oversampling, the cap."""

from __future__ import annotations

from collections import Counter

import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from bagel.config import load_recipe
from bagel.errors import UserError
from bagel.pipeline.build import run_build
from bagel.pipeline.mix import integer_shares, water_fill
from tests.pipeline.helpers import qa, write_jsonl, write_recipe


def _source(tmp_path, name, n, words=3):
    rows = [qa(f"{name} question {i}", " ".join([f"w{i}"] * words)) for i in range(n)]
    write_jsonl(tmp_path / "data" / f"{name}.jsonl", rows)
    return {"name": name, "shape": "instruction", "path": f"data/{name}.jsonl", "confidence": 1}


def _sources_in(path):
    return Counter(pq.read_table(path, columns=["source"])["source"].to_pylist())


def test_water_fill_gives_a_short_source_all_it_has_and_shares_the_rest():
    alloc = water_fill({"a": 1, "b": 1, "c": 2}, {"a": 500, "b": 300, "c": 50}, 600, {})
    assert alloc == {"a": 275.0, "b": 275.0, "c": 50.0}
    assert water_fill({"a": 1, "b": 1, "c": 2}, {"a": 500, "b": 300, "c": 50}, 600, {"c": True}) == {
        "a": 150.0, "b": 150.0, "c": 300.0}
    assert integer_shares({"a": 100 / 3, "b": 100 / 3, "c": 100 / 3}, {"a": 99, "b": 99, "c": 99}) == {
        "a": 34, "b": 33, "c": 33}


def test_rows_mix_reaches_each_share_and_redistributes(tmp_path):
    sources = [{**_source(tmp_path, "a", 500), "weight": 1}, {**_source(tmp_path, "b", 300), "weight": 1},
               {**_source(tmp_path, "c", 50), "weight": 2}, _source(tmp_path, "d", 20)]
    path = write_recipe(tmp_path / "mix.yaml", sources, mix={"rows": 600}, format={"formats": ["alpaca"]})
    report = run_build(load_recipe(path), tmp_path / "out")
    assert _sources_in(tmp_path / "out" / "records.parquet") == {"a": 275, "b": 275, "c": 50, "d": 20}
    mix = report["mix"]
    assert mix["budget"] == {"rows": 600}
    assert {n: (s["requested_share"], s["rows"], s["row_share"]) for n, s in mix["sources"].items()} == {
        "a": (0.25, 275, round(275 / 600, 6)), "b": (0.25, 275, round(275 / 600, 6)), "c": (0.5, 50, round(50 / 600, 6))}
    assert mix["unit"] == "words" and mix["sources"]["c"]["words"] == 50 * 6  # "c question i" + "wi wi wi"
    assert report["sources"]["a"]["steps"]["mix"]["dropped"] == {"sampled_out": 225}
    assert report["sources"]["d"]["steps"]["mix"]["kept"] == 20  # no weight: passes through
    again = run_build(load_recipe(path), tmp_path / "again")  # deterministic, and the same whatever the order
    assert pq.read_table(tmp_path / "again" / "records.parquet")["id"].to_pylist() == \
        pq.read_table(tmp_path / "out" / "records.parquet")["id"].to_pylist()
    assert again["sources"]["a"]["steps"]["mix"]["kept"] == 275


def test_rows_mix_within_one_percent_on_uneven_weights(tmp_path):
    sources = [{**_source(tmp_path, "a", 900), "weight": 0.7}, {**_source(tmp_path, "b", 900), "weight": 0.2},
               {**_source(tmp_path, "c", 900), "weight": 0.1}]
    path = write_recipe(tmp_path / "mix.yaml", sources, mix={"rows": 1000}, format={"formats": ["alpaca"]})
    run_build(load_recipe(path), tmp_path / "out")
    assert _sources_in(tmp_path / "out" / "records.parquet") == {"a": 700, "b": 200, "c": 100}


def test_oversample_repeats_rows_and_counts_them(tmp_path):
    sources = [{**_source(tmp_path, "a", 500), "weight": 1}, {**_source(tmp_path, "b", 300), "weight": 1},
               {**_source(tmp_path, "c", 50), "weight": 2, "oversample": True}]
    path = write_recipe(tmp_path / "mix.yaml", sources, mix={"rows": 600}, format={"formats": ["alpaca"]})
    report = run_build(load_recipe(path), tmp_path / "out")
    table = pq.read_table(tmp_path / "out" / "records.parquet")
    assert _sources_in(tmp_path / "out" / "records.parquet") == {"a": 150, "b": 150, "c": 300}
    c_ids = Counter(i for i, s in zip(table["id"].to_pylist(), table["source"].to_pylist()) if s == "c")
    assert set(c_ids.values()) == {6}  # 300 rows = 6 passes over 50
    assert report["sources"]["c"]["steps"]["mix"]["oversampled"] == 250
    assert report["mix"]["sources"]["c"]["oversampled"] == 250


def test_weighted_sources_skip_the_cap_the_others_keep_it(tmp_path):
    sources = [{**_source(tmp_path, "a", 300), "weight": 1}, _source(tmp_path, "b", 300)]
    path = write_recipe(tmp_path / "mix.yaml", sources, mix={"rows": 250}, cap={"threshold": 100, "keep": 80},
                        format={"formats": ["alpaca"]})
    report = run_build(load_recipe(path), tmp_path / "out")
    assert report["sources"]["a"]["steps"]["trim"]["dropped"] == {}
    assert report["sources"]["b"]["steps"]["trim"]["dropped"] == {"capped": 220}
    assert _sources_in(tmp_path / "out" / "records.parquet") == {"a": 250, "b": 80}


@pytest.fixture
def trained_tokenizer(tmp_path):
    """A word-level tokenizer trained on the fly (one token per whitespace-separated word)."""
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(["question w1 a b"], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    path = tmp_path / "tokenizer"
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(path)
    return path


def test_token_mix_fills_token_shares(tmp_path, trained_tokenizer):
    # every record: "<name> question <i>" + "wi"*words -> 3 + words tokens
    sources = [{**_source(tmp_path, "a", 400, words=7), "weight": 1},  # 10 tokens per row
               {**_source(tmp_path, "b", 400, words=2), "weight": 1}]  # 5 tokens per row
    path = write_recipe(tmp_path / "mix.yaml", sources, mix={"tokens": 2000, "tokenizer": str(trained_tokenizer)},
                        format={"formats": ["alpaca"]})
    report = run_build(load_recipe(path), tmp_path / "out")
    shares = report["mix"]["sources"]
    assert report["mix"]["unit"] == "tokens"
    assert (shares["a"]["tokens"], shares["a"]["rows"]) == (1000, 100)
    assert (shares["b"]["tokens"], shares["b"]["rows"]) == (1000, 200)
    assert shares["a"]["token_share"] == 0.5


def test_mix_config_errors(tmp_path):
    src = _source(tmp_path, "a", 3)
    with pytest.raises(UserError, match="no `mix:` size"):
        load_recipe(write_recipe(tmp_path / "r1.yaml", [{**src, "weight": 1}]))
    with pytest.raises(UserError, match="exactly one of"):
        load_recipe(write_recipe(tmp_path / "r2.yaml", [{**src, "weight": 1}], mix={"rows": 1, "tokens": 2}))
    with pytest.raises(UserError, match="needs a tokenizer"):
        load_recipe(write_recipe(tmp_path / "r3.yaml", [{**src, "weight": 1}], mix={"tokens": 2}))
    with pytest.raises(UserError, match="without a `weight`"):
        load_recipe(write_recipe(tmp_path / "r4.yaml", [{**src, "oversample": True}]))
