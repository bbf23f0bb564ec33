"""The tiny offline model: a BPE tokenizer trained on the build, a random Llama around it."""

import json

from transformers import AutoConfig, AutoTokenizer

from bagel.train.tiny import build_texts


def test_tokenizer_adds_bos_and_knows_the_special_strings(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    ids = tokenizer("user\nhi\n</s>\n<s>assistant\n<|im_start|><|im_end|>")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.convert_ids_to_tokens(ids).count("</s>") == 1
    assert {"<|im_start|>", "<|im_end|>"} <= set(tokenizer.convert_ids_to_tokens(ids))
    assert tokenizer.decode(ids[1:]) == "user\nhi\n</s>\n<s>assistant\n<|im_start|><|im_end|>"


def test_model_matches_its_tokenizer(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    config = AutoConfig.from_pretrained(tiny_model)
    assert config.model_type == "llama" and config.vocab_size == len(tokenizer) <= 1024
    assert (config.bos_token_id, config.eos_token_id) == (tokenizer.bos_token_id, tokenizer.eos_token_id)
    assert json.loads((tiny_model / "config.json").read_text())["hidden_size"] == 64


def test_build_texts_reads_both_tables(build_dir):
    texts = list(build_texts(build_dir))
    assert len(texts) == 98 * 2 - 2 + 48 * 3  # sft input+output (plain-text rows have no input), dpo x3
