"""The Jinja chat templates, run by a real transformers tokenizer, reproduce the renderer's rows."""

from __future__ import annotations

import pytest
from tests.formats.format_helpers import render, sft_record
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from bagel.formats import chat_template

BOS, EOS = "<|bos|>", "<|eos|>"
CHATS = {
    "single": (("  What is 2+2?\n", "\n4." + "\n" * 100 + "Sure."), None),
    "single_system": (("What is 2+2?", "4."), "You are terse. "),
    "multi": (("Hi", " Hello!\n", "Name a color. ", "Blue.\n\n\nOr red."), None),
    "multi_system": (("Hi", "Hello!", "Name a color.", "Blue."), "Be brief."),
}
# formats that close turns with EOS get it after the final response when the whole chat is rendered
EOS_AFTER_FULL_CHAT = {"alpaca": "", "vicuna": "", "chatml": EOS, "llama2": EOS, "chatml_markers": ""}


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    """A WordLevel tokenizer trained on the fly, with BOS/EOS set: what apply_chat_template runs on."""
    model = Tokenizer(models.WordLevel(unk_token="<unk>"))
    model.pre_tokenizer = pre_tokenizers.Whitespace()
    model.train_from_iterator(["What is 2+2 ? Hello Blue"], trainers.WordLevelTrainer(special_tokens=["<unk>", BOS, EOS]))
    return PreTrainedTokenizerFast(tokenizer_object=model, bos_token=BOS, eos_token=EOS, unk_token="<unk>")


def _messages(texts: tuple[str, ...], system: str | None) -> list[dict]:
    head = [{"role": "system", "content": system}] if system else []
    return head + [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(texts)]


@pytest.mark.parametrize("variant", ["alpaca", "vicuna", "chatml", "llama2", "chatml_markers"])
@pytest.mark.parametrize("chat", list(CHATS))
def test_template_matches_renderer(tokenizer, variant, chat):
    fmt, markers = variant.removesuffix("_markers"), variant.endswith("_markers")
    texts, system = CHATS[chat]
    rows, _, _ = render([sft_record("x", *texts, system=system)], formats=[fmt], bos=BOS, eos=EOS, chatml_markers=markers)
    tokenizer.chat_template = chat_template(fmt, bos=BOS, eos=EOS, chatml_markers=markers)
    messages = _messages(texts, system)
    head = 1 if system else 0
    assert len(rows) == len(texts) // 2
    for k, row in enumerate(rows):
        history = messages[: head + 2 * k + 1]
        full = messages[: head + 2 * k + 2]
        assert tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True) == row["input"]
        assert tokenizer.apply_chat_template(full, tokenize=False) == row["input"] + row["output"] + EOS_AFTER_FULL_CHAT[variant]


def test_template_tokenizes(tokenizer):
    tokenizer.chat_template = chat_template("chatml", bos=BOS, eos=EOS)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "Hello"}], add_generation_prompt=True)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids).count(BOS) == 1


def test_template_escapes_special_strings(tokenizer):
    bos, eos = '<"s">', "</s\\>"
    template = chat_template("llama2", bos=bos, eos=eos)
    assert template.startswith('{%- set bos = "<\\"s\\">" -%}\n{%- set eos = "</s\\\\>" -%}\n')
    rows, _, _ = render([sft_record("x", "a", "b", "c", "d")], formats=["llama2"], bos=bos, eos=eos)
    tokenizer.chat_template = template
    messages = _messages(("a", "b", "c"), None)
    assert tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == rows[1]["input"]
    assert rows[1]["input"] == '[INST] a [/INST] b </s\\><"s">[INST] c [/INST]'
