"""Fixtures for the eval tests: a tiny model laid out like a `bagel train` output, and a LoRA adapter on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from bagel.benchmarks.files import read_rows  # noqa: E402
from bagel.benchmarks.registry import REGISTRY, bundled_path  # noqa: E402
from bagel.formats import chat_template  # noqa: E402
from bagel.formats.options import FORMAT_NAMES  # noqa: E402
from bagel.train.models import CONFIG_FILE, TEMPLATES_DIR  # noqa: E402

TRAINED_FORMAT = "vicuna"


def tokenizer_texts() -> list[str]:
    """Texts the tiny tokenizer is trained on: the first rows of the two scored benchmarks, and the format markers."""
    texts = [r["query"] + " " + " ".join(r["choices"]) for r in read_rows(bundled_path(REGISTRY["arc_challenge"]))[:50]]
    texts += [r["question"] + " " + r["answer"] for r in read_rows(bundled_path(REGISTRY["gsm8k"]))[:50]]
    return texts + ["USER: ASSISTANT: ### Instruction: ### Response: [INST] [/INST] The final answer is 42"]


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory) -> Path:
    """A random tiny Llama with the files `bagel train` saves next to it: a chat template per format
    (the default one, vicuna, also the tokenizer's) and the train config naming its chat format."""
    from transformers import AutoTokenizer

    from bagel.train.tiny import make_tiny_model

    out = make_tiny_model(tmp_path_factory.mktemp("trained"), tokenizer_texts(), vocab_size=512, hidden_size=32,
                          layers=1, heads=2, max_positions=1024)
    (out / TEMPLATES_DIR).mkdir()
    for fmt in FORMAT_NAMES:
        (out / TEMPLATES_DIR / f"{fmt}.jinja").write_text(chat_template(fmt), encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(out)
    tokenizer.chat_template = chat_template(TRAINED_FORMAT)
    tokenizer.save_pretrained(out)
    (out / CONFIG_FILE).write_text(f"chat_format: {TRAINED_FORMAT}\nformats: [{', '.join(FORMAT_NAMES)}]\n"
                                   "chatml_markers: false\n", encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def adapter_dir(trained_dir, tmp_path_factory) -> Path:
    """A LoRA adapter on ``trained_dir`` saved with its tokenizer, as `bagel train` saves a LoRA run."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(trained_dir),
                           LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM",
                                      init_lora_weights=False))
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(trained_dir).save_pretrained(out)
    return out
