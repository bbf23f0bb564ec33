"""Typed training configs (``bagel train sft|dpo CONFIG.yaml``), validated with pydantic.

One YAML file describes one run: the model to start from, the data (a ``bagel build``
output dir or parquet files), which prompt formats to train on, the optimisation, the
PEFT method and the precision. Unknown keys and bad values are one-line
:class:`~bagel.errors.UserError` s. Relative paths stay relative to the working dir, as
in every HF tool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bagel.configfile import load_yaml_model
from bagel.formats.options import FORMAT_NAMES

FormatName = Literal["alpaca", "vicuna", "chatml", "llama2"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeftOptions(_Strict):
    """How the weights are trained: all of them, a LoRA adapter, or a LoRA adapter on a 4-bit base (QLoRA)."""

    method: Literal["full", "lora", "qlora"] = "full"
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class TrainConfig(_Strict):
    """What SFT and DPO runs share."""

    model: str  # hub name or local dir: a full model or a PEFT adapter dir (e.g. an SFT output)
    data: str | list[str]  # a `bagel build` output dir, or parquet files
    output_dir: str
    formats: list[FormatName] = Field(default_factory=lambda: list(FORMAT_NAMES), min_length=1)
    chat_format: FormatName | None = None  # the tokenizer's default chat template; default: formats[0]
    # BOS/EOS strings the data was rendered with; default: the build's report.json, else the tokenizer's own
    bos: str | None = None
    eos: str | None = None
    chatml_markers: bool | None = None  # default: the build's report.json, else false
    max_length: int = Field(2048, ge=8)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = Field(2e-5, gt=0)
    lr_scheduler: str = "cosine"
    warmup: float = Field(0.03, ge=0)  # < 1: ratio of the steps; >= 1: steps
    weight_decay: float = Field(0.0, ge=0)
    optimizer: str = "adamw_torch"
    batch_size: int = Field(1, ge=1)  # per device
    gradient_accumulation_steps: int = Field(1, ge=1)
    gradient_checkpointing: bool = True
    max_grad_norm: float = Field(1.0, ge=0)
    precision: Literal["fp32", "bf16", "fp16"] = "bf16"  # mixed precision of the training step
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # dtype the weights load in
    seed: int = 42
    logging_steps: int = Field(10, ge=1)
    save_steps: int | None = Field(None, ge=1)  # intermediate checkpoints; none by default
    trust_remote_code: bool = False
    peft: PeftOptions = Field(default_factory=PeftOptions)

    @field_validator("data")
    @classmethod
    def _data_not_empty(cls, value):
        if isinstance(value, list) and not value:
            raise ValueError("give a build output dir or at least one parquet file")
        return value

    @property
    def default_format(self) -> str:
        """The format whose chat template becomes the tokenizer's default."""
        return self.chat_format or self.formats[0]


class SFTTrainConfig(TrainConfig):
    """Supervised fine-tuning on ``sft.parquet``: loss on ``output`` only."""

    plain_text: bool = True  # also train on the plain-text rows (format "plain_text")
    packing: bool = False
    neftune_noise_alpha: float | None = Field(None, gt=0)


class DPOTrainConfig(TrainConfig):
    """Preference tuning on ``dpo.parquet``, starting from the SFT output (the original's defaults)."""

    learning_rate: float = Field(5e-7, gt=0)
    optimizer: str = "rmsprop"
    lr_scheduler: str = "linear"
    warmup: float = Field(0.1, ge=0)
    beta: float = Field(0.1, gt=0)
    loss_type: list[str] = Field(default_factory=lambda: ["sigmoid"], min_length=1)
    # The reference policy: a separate model (`ref_model`), else a frozen copy of `model` (full
    # fine-tuning) or the adapter-free / frozen-adapter model (PEFT); `precompute_ref_log_probs`
    # computes its log-probs once before training instead of keeping it in memory.
    ref_model: str | None = None
    precompute_ref_log_probs: bool = False

    @field_validator("loss_type", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value


Config = TypeVar("Config", bound=TrainConfig)


def load_train_config(path: Path, model: type[Config]) -> Config:
    """Read and validate a training YAML into ``model``; every problem is a one-line :class:`UserError`."""
    return load_yaml_model(path, model, "training config")


def save_train_config(cfg: TrainConfig, path: Path) -> None:
    """Write ``cfg`` (with every default filled in) as YAML: the exact config a run used."""
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True), encoding="utf-8")


def trainer_arguments(cfg: TrainConfig) -> dict:
    """The keyword arguments of TRL's ``SFTConfig``/``DPOConfig`` that both runs share."""
    return {
        "output_dir": cfg.output_dir,
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps,
        "learning_rate": cfg.learning_rate,
        "lr_scheduler_type": cfg.lr_scheduler,
        "warmup_steps": cfg.warmup if cfg.warmup < 1 else int(cfg.warmup),
        "weight_decay": cfg.weight_decay,
        "optim": cfg.optimizer,
        "per_device_train_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "gradient_checkpointing": cfg.gradient_checkpointing,
        "max_grad_norm": cfg.max_grad_norm,
        "bf16": cfg.precision == "bf16",
        "fp16": cfg.precision == "fp16",
        "seed": cfg.seed,
        "max_length": cfg.max_length,
        "logging_steps": cfg.logging_steps,
        "save_strategy": "steps" if cfg.save_steps else "no",
        "report_to": "none",
        "trust_remote_code": cfg.trust_remote_code,
    } | ({"save_steps": cfg.save_steps} if cfg.save_steps else {})
