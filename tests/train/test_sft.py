"""SFT runs: the loss goes down, the output dir is complete, LoRA adapters save and reload."""

import json

import torch
import yaml

from bagel.formats import chat_template
from bagel.train.chat import load_chat_model
from bagel.train.config import SFTTrainConfig
from bagel.train.models import save_output
from bagel.train.sft import sft_trainer


def losses(out_dir):
    history = json.loads((out_dir / "trainer_state.json").read_text())["log_history"]
    return [h["loss"] for h in history if "loss" in h]


def test_loss_decreases(sft_model):
    logged = losses(sft_model)
    assert len(logged) == 6  # 30 steps, logged every 5
    assert logged[-1] < 0.75 * logged[0]
    assert all(later < earlier for earlier, later in zip(logged, logged[1:]))


def test_output_dir_holds_model_tokenizer_templates_and_config(sft_model):
    assert (sft_model / "model.safetensors").is_file() and (sft_model / "tokenizer.json").is_file()
    for fmt in ("alpaca", "vicuna", "chatml", "llama2"):
        assert (sft_model / "chat_templates" / f"{fmt}.jinja").read_text() == chat_template(fmt, bos="<s>", eos="</s>")
    chat = load_chat_model(str(sft_model))
    assert chat.tokenizer.chat_template == chat_template("alpaca", bos="<s>", eos="</s>")  # formats[0]
    saved = SFTTrainConfig.model_validate(yaml.safe_load((sft_model / "bagel_train_config.yaml").read_text()))
    assert (saved.bos, saved.eos, saved.chatml_markers, saved.max_steps) == ("<s>", "</s>", False, 30)


def test_default_chat_template_renders_like_the_formatter(sft_model):
    chat = load_chat_model(str(sft_model))
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a color."}]
    rendered = chat.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == chat.render([{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Name a color."}], "alpaca")


def test_lora_adapter_is_saved_and_reloads(sft_config, tiny_model, build_dir, tmp_path):
    cfg = sft_config(tiny_model, build_dir, tmp_path / "lora", max_steps=5, peft={"method": "lora", "r": 4, "dropout": 0})
    trainer, cfg = sft_trainer(cfg)
    trainer.train()
    out = save_output(trainer, trainer.processing_class, cfg)
    assert (out / "adapter_model.safetensors").is_file() and not (out / "model.safetensors").exists()
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == str(tiny_model)

    ids = trainer.processing_class("Name a color.", return_tensors="pt")["input_ids"]
    trained = trainer.model.eval()
    reloaded = load_chat_model(str(out)).model
    base = load_chat_model(str(tiny_model)).model
    with torch.no_grad():
        expected, got, untouched = (m(input_ids=ids).logits for m in (trained, reloaded, base))
    assert torch.allclose(got, expected, atol=1e-5)
    assert not torch.allclose(got, untouched, atol=1e-3)


def test_packing_and_neftune(sft_config, tiny_model, build_dir, tmp_path):
    cfg = sft_config(tiny_model, build_dir, tmp_path, max_steps=2, packing=True, neftune_noise_alpha=5.0)
    trainer, _ = sft_trainer(cfg)
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    assert len(lengths) < 98 and max(lengths) <= 256
    assert trainer.train().global_step == 2
