"""bagel chat / generate: prompts rendered by our formatter, replies streamed, full models and adapters."""

import pytest
import torch
from typer.testing import CliRunner

from bagel.cli import app
from bagel.train.chat import chat_loop, generate_reply, load_chat_model


@pytest.fixture(scope="module")
def tiny_chat(tiny_model):
    return load_chat_model(str(tiny_model))


@pytest.mark.parametrize("fmt", ["alpaca", "vicuna", "chatml", "llama2"])
def test_generate_streams_text_in_every_format(tiny_chat, fmt, capsys):
    conversation = [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "What is the capital of France?"}]
    torch.manual_seed(0)
    reply = generate_reply(tiny_chat, conversation, fmt, max_new_tokens=8, temperature=1.0)
    assert reply and capsys.readouterr().out.strip() == reply


def test_prompts_use_the_tokenizers_bos_eos(tiny_chat):
    conversation = [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}, {"from": "human", "value": "Bye"}]
    assert tiny_chat.render(conversation, "chatml") == "user\nHi\n</s>\n<s>assistant\nHello!\n</s>\n<s>user\nBye\n</s>\n<s>assistant\n"
    assert tiny_chat.render(conversation, "llama2") == "[INST] Hi [/INST] Hello! </s><s>[INST] Bye [/INST]"


def test_chat_loop_keeps_history_and_resets(tiny_chat, capsys):
    lines = iter(["hello", "/reset", "", "second question", "/exit", "never read"])
    torch.manual_seed(0)
    conversation = chat_loop(tiny_chat, "vicuna", "Be brief.", read=lambda _: next(lines), max_new_tokens=4, temperature=1.0)
    assert [t["from"] for t in conversation] == ["system", "human", "gpt"]
    assert conversation[1]["value"] == "second question" and conversation[2]["value"]
    assert capsys.readouterr().out.count("assistant> ") == 2


def test_generate_cli_loads_an_adapter_dir(sft_config, tiny_model, build_dir, tmp_path):
    from bagel.train.sft import run_sft

    cfg = sft_config(tiny_model, build_dir, tmp_path / "lora", max_steps=1, peft={"method": "lora", "r": 4})
    out = run_sft(cfg)
    args = ["generate", str(out), "--prompt", "Name a color.", "--format", "llama2", "--max-new-tokens", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("\n")


def test_chat_cli_rejects_an_unknown_format(tmp_path):
    result = CliRunner().invoke(app, ["chat", str(tmp_path), "--format", "zephyr"])
    assert result.exit_code == 2
    assert result.stderr == "error: unknown format 'zephyr' (known: alpaca, vicuna, chatml, llama2)\n"
