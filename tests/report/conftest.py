"""Fixtures of the report tests: a hand-written build out dir and a local word-level tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from tests.report.builds import write_build


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    """A build out dir with sft, dpo and text sources (no report.html / README.md yet)."""
    return write_build(tmp_path / "build")


@pytest.fixture
def word_tokenizer(tmp_path):
    """A tokenizer with one token per whitespace-separated word, saved as a local tokenizer dir."""
    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    path = tmp_path / "tokenizer"
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(path)
    return path
