"""Length histograms and deterministic samples of sft/dpo parquet."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transformers import PreTrainedTokenizerFast

from bagel.report import stats
from bagel.report.stats import EDGES, Lengths, count_tokens, scan, source_name
from bagel.tokens import TokenCounter
from tests.report.builds import source_of


def bins(**counts: int) -> list[int]:
    """A histogram over EDGES with ``b<edge>=count`` set, zeros elsewhere."""
    out = [0] * len(EDGES)
    for key, n in counts.items():
        out[EDGES.index(int(key[1:]))] = n
    return out


def test_lengths_bins_are_half_open_and_the_last_is_open():
    lengths = Lengths()
    lengths.add(np.array([0, 3, 4, 5, 32767, 32768, 10**6]))
    assert lengths.counts.tolist() == bins(b0=2, b4=2, b16384=1, b32768=2)
    assert (lengths.rows, lengths.total, lengths.longest) == (7, 0 + 3 + 4 + 5 + 32767 + 32768 + 10**6, 10**6)


def test_scan_counts_characters_per_source_and_format(build_dir):
    sft = scan(build_dir / "sft.parquet", "sft", {}, ["alpha", "beta", "gamma"])
    assert sft.groups("source") == ["alpha", "gamma"]
    assert sft.groups("format") == ["alpaca", "plain_text", "vicuna"]
    # alpha inputs are 76 characters; outputs 14, 24, 34, 44, 54 in each of the two formats
    alpha_in, alpha_out = sft.chars[("source", "alpha", "input")], sft.chars[("source", "alpha", "output")]
    assert alpha_in.counts.tolist() == bins(b64=10) and alpha_in.longest == 76
    assert alpha_out.counts.tolist() == bins(b8=2, b16=2, b32=6)
    assert (alpha_out.rows, alpha_out.total, alpha_out.longest) == (10, 2 * (14 + 24 + 34 + 44 + 54), 54)
    assert sft.chars[("format", "plain_text", "input")].counts.tolist() == bins(b0=2)
    assert sft.chars[("format", "plain_text", "output")].counts.tolist() == bins(b256=2)
    dpo = scan(build_dir / "dpo.parquet", "dpo", {})
    assert dpo.chars[("format", "vicuna", "chosen")].counts.tolist() == bins(b4=3)
    assert sft.samples == {} and dpo.samples == {}


def test_scan_counts_characters_not_bytes(tmp_path):
    path = tmp_path / "sft.parquet"
    columns = {"id": ["1"], "source": ["s"], "format": ["f"], "input": ["é" * 5], "output": [None]}
    pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), path)
    got = scan(path, "sft", {})
    assert got.chars[("source", "s", "input")].total == 5
    assert got.chars[("source", "s", "output")].counts.tolist() == bins(b0=1)


def test_samples_are_the_smallest_ids_whatever_the_batching(build_dir, monkeypatch):
    sizes = {"source": 3, "format": 2}
    names = ["alpha", "gamma"]
    whole = scan(build_dir / "sft.parquet", "sft", sizes, names)
    monkeypatch.setattr(stats, "BATCH_ROWS", 2)
    batched = scan(build_dir / "sft.parquet", "sft", sizes, names)
    assert batched.samples == whole.samples
    rows = pq.read_table(build_dir / "sft.parquet").to_pylist()
    for (by, group), sample in whole.samples.items():
        members = [r for r in rows if (source_of(r) if by == "source" else r[by]) == group]
        expected = sorted(members, key=lambda r: (r["id"], r["format"]))[: sizes[by]]
        assert sample == expected
    assert sorted(whole.samples) == [("format", "alpaca"), ("format", "plain_text"), ("format", "vicuna"),
                                     ("source", "alpha"), ("source", "gamma")]


def test_count_tokens_on_the_samples(build_dir, word_tokenizer):
    tokenizer = PreTrainedTokenizerFast.from_pretrained(word_tokenizer)
    sft = scan(build_dir / "sft.parquet", "sft", {"source": 256, "format": 256}, ["alpha", "gamma"])
    count_tokens(sft, TokenCounter(word_tokenizer, tokenizer))
    text = sft.tokens[("source", "gamma", "output")]  # "Once upon a time " x 20 and x 21
    assert (text.rows, text.total) == (2, 80 + 84)
    assert text.counts.tolist() == bins(b64=2)
    words = "<s>[alpaca] Question 0: what is <script>alert(0)</script>? Indented line".split()
    assert sft.tokens[("format", "alpaca", "input")].total == 5 * len(words)


@pytest.mark.parametrize("label, source", [
    ("piqa", "piqa"), ("piqa_alpaca", "piqa"), ("gutenberg chesterton-thursday_plain_text", "gutenberg"),
    ("natural_instructions_llama2", "natural_instructions"), ("piqa_extra_chatml", "piqa_extra"),
    ("unknown_vicuna", "unknown_vicuna"), ("piqab", "piqab"),
])
def test_source_name_maps_row_labels_to_report_sources(label, source):
    assert source_name(label, ["gutenberg", "natural_instructions", "piqa", "piqa_extra"]) == source
