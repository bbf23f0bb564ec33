"""Training configs: validation, defaults, the example configs, and CLI errors."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bagel.cli import app
from bagel.errors import UserError
from bagel.train.config import DPOTrainConfig, SFTTrainConfig, load_train_config, trainer_arguments

CONFIGS = Path(__file__).parents[2] / "configs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


def test_unknown_key_is_a_one_line_user_error(tmp_path):
    path = write(tmp_path, "model: m\ndata: d\noutput_dir: o\npeft:\n  method: lora\n  rank: 8\n")
    with pytest.raises(UserError) as err:
        load_train_config(path, SFTTrainConfig)
    assert str(err.value) == f"{path}: unknown key 'peft.rank'"


def test_bad_value_names_the_key(tmp_path):
    path = write(tmp_path, "model: m\ndata: d\noutput_dir: o\nformats: [alpaca, zephyr]\n")
    with pytest.raises(UserError, match=r"formats\.1: Input should be 'alpaca', 'vicuna', 'chatml' or 'llama2'$"):
        load_train_config(path, SFTTrainConfig)


def test_dpo_defaults_are_the_originals():
    cfg = DPOTrainConfig(model="m", data="d", output_dir="o")
    assert (cfg.beta, cfg.learning_rate, cfg.optimizer, cfg.loss_type) == (0.1, 5e-7, "rmsprop", ["sigmoid"])
    assert cfg.ref_model is None and cfg.precompute_ref_log_probs is False


def test_trainer_arguments_map_precision_and_warmup():
    args = trainer_arguments(SFTTrainConfig(model="m", data="d", output_dir="o", precision="fp32", warmup=10))
    assert (args["bf16"], args["fp16"], args["warmup_steps"], args["save_strategy"]) == (False, False, 10, "no")
    assert "save_steps" not in args
    args = trainer_arguments(SFTTrainConfig(model="m", data="d", output_dir="o", save_steps=100))
    assert (args["bf16"], args["warmup_steps"], args["save_strategy"], args["save_steps"]) == (True, 0.03, "steps", 100)


@pytest.mark.parametrize("name", ["sft.yaml", "sft-qlora.yaml", "demo-sft.yaml", "dpo.yaml", "demo-dpo.yaml"])
def test_example_configs_validate(name):
    model = DPOTrainConfig if "dpo" in name else SFTTrainConfig
    cfg = load_train_config(CONFIGS / name, model)
    assert cfg.formats == ["alpaca", "vicuna", "chatml", "llama2"]


def test_demo_configs_chain_build_tiny_sft_dpo():
    sft = load_train_config(CONFIGS / "demo-sft.yaml", SFTTrainConfig)
    dpo = load_train_config(CONFIGS / "demo-dpo.yaml", DPOTrainConfig)
    assert (sft.data, sft.model, sft.output_dir) == ("out/demo", "out/demo-models/tiny", "out/demo-models/sft")
    assert (dpo.data, dpo.model, dpo.output_dir) == ("out/demo", "out/demo-models/sft", "out/demo-models/dpo")


@pytest.mark.parametrize("command", ["sft", "dpo"])
def test_cli_unknown_key_exits_2_with_one_line(tmp_path, command):
    path = write(tmp_path, "model: m\ndata: d\noutput_dir: o\nlearning_rte: 1.0e-5\n")
    result = CliRunner().invoke(app, ["train", command, str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: unknown key 'learning_rte'\n"


def test_cli_qlora_without_gpu_is_a_clear_error(tmp_path, tiny_model, build_dir):
    path = write(tmp_path, f"model: {tiny_model}\ndata: {build_dir}\noutput_dir: {tmp_path}/o\npeft:\n  method: qlora\n")
    result = CliRunner().invoke(app, ["train", "sft", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: peft.method qlora needs a CUDA GPU and bitsandbytes; no GPU here: use peft.method lora or full\n"
    )


def test_cli_bf16_without_gpu_is_a_one_line_error(tmp_path, tiny_model, build_dir):
    path = write(tmp_path, f"model: {tiny_model}\ndata: {build_dir}\noutput_dir: {tmp_path}/o\nprecision: bf16\n")
    result = CliRunner().invoke(app, ["train", "dpo", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: training arguments: Your setup doesn't support bf16/gpu.")
    assert result.stderr.count("\n") == 1
