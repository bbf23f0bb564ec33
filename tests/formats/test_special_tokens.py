"""BOS/EOS from a local tokenizer (offline) or from the recipe."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

from bagel.errors import UserError
from bagel.formats import FormatOptions, Renderer, resolve_special_tokens
from bagel.records import record, to_table


def _save_tokenizer(path, **special) -> str:
    model = Tokenizer(models.WordLevel({"<unk>": 0, "<|begin|>": 1, "<|end|>": 2}, unk_token="<unk>"))
    PreTrainedTokenizerFast(tokenizer_object=model, unk_token="<unk>", **special).save_pretrained(path)
    return str(path)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_recipe_values_without_tokenizer():
    assert resolve_special_tokens(FormatOptions(bos="[B]", eos="[E]")) == ("[B]", "[E]")


def test_tokenizer_values_win(tmp_path):
    path = _save_tokenizer(tmp_path / "tok", bos_token="<|begin|>", eos_token="<|end|>")
    options = FormatOptions(tokenizer=path, bos="[B]", eos="[E]", formats=["llama2"])
    assert resolve_special_tokens(options) == ("<|begin|>", "<|end|>")
    chat = [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}, {"from": "human", "value": "c"}, {"from": "gpt", "value": "d"}]
    sft, _, _ = Renderer(options, 0).render_batch(to_table([record("sft", id="x", source="s", conversations=chat)]))
    assert sft.column("input").to_pylist()[1].endswith("b <|end|><|begin|>[INST] c [/INST]")


def test_missing_tokenizer_token_falls_back_to_recipe(tmp_path):
    path = _save_tokenizer(tmp_path / "tok", eos_token="<|end|>")
    assert resolve_special_tokens(FormatOptions(tokenizer=path, bos="[B]")) == ("[B]", "<|end|>")


def test_unknown_tokenizer_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot load tokenizer"):
        resolve_special_tokens(FormatOptions(tokenizer=str(tmp_path / "nope")))
