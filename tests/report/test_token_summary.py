"""Token statistics over every training row: per source, format and kind; truncation; DPO length bias."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from bagel.config import load_recipe
from bagel.pipeline.build import run_build
from bagel.tokens import LengthCounts, TokenCounter, TokenStats
from tests.pipeline.helpers import qa, token_summary, write_jsonl, write_recipe


def _write(out, sft: list[dict], dpo: list[dict]):
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(sft, schema=pa.schema(
        [(n, pa.string()) for n in ("id", "source", "format", "input", "output")])), out / "sft.parquet")
    pq.write_table(pa.Table.from_pylist(dpo, schema=pa.schema(
        [(n, pa.string()) for n in ("id", "source", "format", "prompt", "chosen", "rejected")])), out / "dpo.parquet")


def test_word_counts_per_group_truncation_and_length_bias(tmp_path):
    sft = [{"id": str(i), "source": f"alpha_{fmt}", "format": fmt, "input": "w " * (i + 1), "output": "x " * 10}
           for i in range(4) for fmt in ("alpaca", "chatml")]
    dpo = [{"id": "p", "source": "beta", "format": "alpaca", "prompt": "p p", "chosen": "c " * 6, "rejected": "r r"},
           {"id": "q", "source": "beta", "format": "alpaca", "prompt": "p", "chosen": "c c", "rejected": "r " * 2}]
    _write(tmp_path, sft, dpo)
    stats = token_summary(tmp_path, ["alpha", "beta"], TokenCounter(None), max_seq_length=13)
    assert stats["unit"] == "words" and stats["tokenizer"] is None
    alpha = stats["by_source"]["alpha"]
    assert alpha["rows"] == 8
    assert alpha["prompt"] == {"sum": 20, "p50": 2.5, "p95": 4.0, "max": 4}
    assert alpha["response"] == {"sum": 80, "p50": 10.0, "p95": 10.0, "max": 10}
    assert alpha["truncated_share"] == 0.25  # 4 + 10 > 13 in both formats
    assert "chosen_rejected_ratio" not in alpha
    beta = stats["by_source"]["beta"]
    assert beta["chosen_rejected_ratio"] == 2.0  # (6 + 2) / (2 + 2)
    assert beta["truncated_share"] == 0.0
    assert stats["by_format"]["alpaca"]["rows"] == 6 and stats["by_format"]["chatml"]["rows"] == 4
    assert stats["by_kind"]["dpo"]["prompt"]["sum"] == 3 and stats["by_kind"]["sft"]["rows"] == 8


@pytest.fixture
def tokenizer_dir(tmp_path):
    """A WordPiece tokenizer trained on the fly: unknown words split into pieces, so tokens != words."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["hello world question answer"] * 10, trainers.WordPieceTrainer(
        vocab_size=60, special_tokens=["[UNK]"]))
    path = tmp_path / "tok"
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(path)
    return path


def test_build_report_html_and_card_carry_token_stats(tmp_path, tokenizer_dir):
    write_jsonl(tmp_path / "data" / "a.jsonl", [qa("hello question", "world answer"), qa("question two", "answer")])
    write_jsonl(tmp_path / "data" / "p.jsonl", [
        {"prompt": "hello", "chosen": "a long good answer", "rejected": "bad"},
        {"prompt": "question", "chosen": "Same answer", "rejected": " same answer "},  # dropped: dpo:identical
    ])
    sources = [{"name": "a", "shape": "instruction", "path": "data/a.jsonl", "confidence": 2},
               {"name": "p", "shape": "preference", "path": "data/p.jsonl", "confidence": 1}]
    words = run_build(load_recipe(write_recipe(tmp_path / "w.yaml", sources)), tmp_path / "words")
    assert words["tokens"]["unit"] == "words"
    assert words["sources"]["p"]["steps"]["convert"]["dropped"] == {"dpo:identical": 1}
    assert words["tokens"]["by_source"]["p"]["chosen_rejected_ratio"] == 4.0
    html = (tmp_path / "words" / "report.html").read_text()
    assert "no tokenizer configured: whitespace-separated words are counted" in html
    assert "## Token statistics" in (tmp_path / "words" / "README.md").read_text()

    recipe = write_recipe(tmp_path / "t.yaml", sources, tokenizer=str(tokenizer_dir), max_seq_length=8)
    tokens = run_build(load_recipe(recipe), tmp_path / "tokens")["tokens"]
    assert tokens["unit"] == "tokens" and tokens["tokenizer"] == str(tokenizer_dir)
    expected = TokenCounter(str(tokenizer_dir)).count(
        pq.read_table(tmp_path / "tokens" / "sft.parquet")["output"].to_pylist())
    assert tokens["by_kind"]["sft"]["response"]["sum"] == int(expected.sum())
    assert 0 < tokens["by_kind"]["sft"]["truncated_share"] <= 1  # rendered prompts are longer than 8 tokens
    assert f"tokenizer <code>{tokenizer_dir}</code>" in (tmp_path / "tokens" / "report.html").read_text()
    # counted while rendering = counted over the written files
    assert tokens == token_summary(tmp_path / "tokens", ["a", "p"], TokenCounter(str(tokenizer_dir)), 8)


def test_token_stats_merge_and_json_round_trip_equal_one_pass():
    batch = pa.table({"source": ["s_alpaca", "s_chatml", "t_alpaca"], "format": ["alpaca", "chatml", "alpaca"],
                      "input": ["a b", None, "c d e"], "output": ["x", "y y y", "z z"]})
    counter = TokenCounter(None)
    whole = TokenStats()
    whole.add("sft", batch, counter, lambda value: value.split("_")[0])
    first, second = TokenStats(), TokenStats()
    first.add("sft", batch.slice(0, 2), counter, lambda value: value.split("_")[0])
    second.add("sft", batch.slice(2), counter, "t")
    merged = TokenStats.from_json(json.loads(json.dumps(first.to_json())))
    merged.merge(TokenStats.from_json(second.to_json()))
    assert merged.summary(None, 4) == whole.summary(None, 4)
    summary = whole.summary(None, 4)
    assert summary["by_source"]["s"] == {"rows": 2, "prompt": {"sum": 2, "p50": 1.0, "p95": 1.9, "max": 2},
                                         "response": {"sum": 4, "p50": 2.0, "p95": 2.9, "max": 3},
                                         "truncated_share": 0.0}
    assert summary["by_format"]["alpaca"]["truncated_share"] == 0.5  # "c d e" + "z z" = 5 words > 4


def test_length_counts_give_numpy_figures_over_every_length():
    rng = np.random.default_rng(0)
    for _ in range(300):
        lengths = rng.integers(0, int(rng.integers(1, 5000)), int(rng.integers(1, 300)))
        counts = LengthCounts()
        for part in np.array_split(lengths, 3):  # counted batch by batch
            counts.add(part)
        assert counts.spread() == {"sum": int(lengths.sum()), "p50": float(np.percentile(lengths, 50)),
                                   "p95": float(np.percentile(lengths, 95)), "max": int(lengths.max())}
        assert counts.share_above(2000) == float((lengths > 2000).mean()) and counts.rows == len(lengths)
    assert LengthCounts().spread() == {"sum": 0, "p50": 0, "p95": 0, "max": 0}
