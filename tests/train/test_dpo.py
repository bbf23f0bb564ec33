"""DPO from the SFT output: the reward margin rises, with full fine-tuning and with a LoRA adapter."""

import json

import pytest

from bagel.train.config import DPOTrainConfig
from bagel.train.dpo import run_dpo


@pytest.mark.parametrize(("method", "learning_rate"), [("full", 1e-4), ("lora", 5e-3)])
def test_reward_margin_rises(sft_model, build_dir, tmp_path, method, learning_rate):
    cfg = DPOTrainConfig(
        model=str(sft_model),
        data=str(build_dir),
        output_dir=str(tmp_path / method),
        max_length=256,
        max_steps=12,
        learning_rate=learning_rate,
        warmup=0,
        batch_size=4,
        gradient_checkpointing=False,
        precision="fp32",
        logging_steps=3,
        peft={"method": method, "r": 4, "dropout": 0},
    )
    out = run_dpo(cfg)
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    margins = [h["rewards/margins"] for h in history if "rewards/margins" in h]
    assert len(margins) == 4
    assert margins[-1] > margins[0] + 0.2
    weights = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
    assert (out / weights).is_file() and not (out / "ref").exists()
