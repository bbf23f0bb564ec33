"""Models for training and inference: load (full model or PEFT adapter dir), special tokens, LoRA/QLoRA, save.

A trained output dir holds the model (safetensors) or the adapter, the tokenizer with the
default chat template, ``chat_templates/<format>.jinja`` for every trained format and the
exact config used (``bagel_train_config.yaml``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import yaml
from peft import LoraConfig, PeftConfig, PeftModel, prepare_model_for_kbit_training
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from bagel.errors import UserError
from bagel.formats import chat_template
from bagel.formats.options import FORMAT_NAMES
from bagel.log import logger
from bagel.train.config import TrainConfig, save_train_config, trainer_arguments
from bagel.train.data import resolve_special_strings

CONFIG_FILE = "bagel_train_config.yaml"
STATE_FILE = "trainer_state.json"  # the log history: loss, DPO rewards ...
TEMPLATES_DIR = "chat_templates"
CHATML_MARKERS = ("<|im_start|>", "<|im_end|>")


@dataclass
class Policy:
    """What a trainer needs: the model, its tokenizer, the LoRA config to apply (None: none) and the resolved config."""

    model: PreTrainedModel | PeftModel
    tokenizer: PreTrainedTokenizerBase
    peft_config: LoraConfig | None
    cfg: TrainConfig


def is_adapter_dir(path: str) -> bool:
    """True when ``path`` is a local PEFT adapter dir (it holds ``adapter_config.json``)."""
    return (Path(path) / "adapter_config.json").is_file()


def saved_train_config(path: str) -> dict:
    """The ``bagel_train_config.yaml`` saved in a trained dir, as a dict (``{}`` when there is none)."""
    config = Path(path) / CONFIG_FILE
    return (yaml.safe_load(config.read_text(encoding="utf-8")) or {}) if config.is_file() else {}


def check_qlora_possible() -> None:
    """Raise a :class:`UserError` unless 4-bit QLoRA can run here (a CUDA GPU and bitsandbytes)."""
    if not torch.cuda.is_available():
        raise UserError("peft.method qlora needs a CUDA GPU and bitsandbytes; no GPU here: use peft.method lora or full")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise UserError("peft.method qlora needs bitsandbytes: pip install bitsandbytes (or use peft.method lora)")


def _quantization(cfg: TrainConfig):
    if cfg.peft.method != "qlora":
        return {}
    from accelerate import PartialState
    from transformers import BitsAndBytesConfig

    compute = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision, torch.float32)
    bnb = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute
    )
    return {"quantization_config": bnb, "device_map": {"": PartialState().local_process_index}}


def training_args(args_class: type, cfg: TrainConfig, **extra):
    """TRL's ``SFTConfig``/``DPOConfig`` for ``cfg``; what this machine cannot run (QLoRA, bf16) is a UserError.

    Build it before loading the model: under DeepSpeed ZeRO-3 it makes ``from_pretrained`` shard the weights.
    """
    if cfg.peft.method == "qlora":
        check_qlora_possible()
    try:
        return args_class(**trainer_arguments(cfg), **extra)
    except ValueError as err:
        raise UserError(f"training arguments: {str(err).splitlines()[0]}") from None


def load_tokenizer(path: str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    """The tokenizer saved in ``path`` (a model or adapter dir, or a hub name)."""
    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except OSError as err:
        raise UserError(f"cannot load a tokenizer from {path}: {str(err).splitlines()[0]}") from None


def add_special_strings(tokenizer: PreTrainedTokenizerBase, cfg: TrainConfig) -> tuple[TrainConfig, list[int]]:
    """Make the data's BOS/EOS (and chatml markers) the tokenizer's special tokens; return the config and new ids.

    Unset ``bos``/``eos`` take the tokenizer's own; the rows were rendered with these
    strings, so each must encode to one token id, added to the vocabulary when missing.
    """
    cfg = resolve_special_strings(cfg)
    bos = cfg.bos if cfg.bos is not None else tokenizer.bos_token or ""
    eos = cfg.eos if cfg.eos is not None else tokenizer.eos_token
    if not eos:
        raise UserError(f"tokenizer of {cfg.model} has no EOS token: set `eos` in the config")
    cfg = cfg.model_copy(update={"bos": bos, "eos": eos, "chatml_markers": bool(cfg.chatml_markers)})
    before = len(tokenizer)
    tokenizer.add_special_tokens({"eos_token": eos} | ({"bos_token": bos} if bos else {}))
    if cfg.chatml_markers:
        tokenizer.add_tokens(list(CHATML_MARKERS), special_tokens=True)
    new_ids = list(range(before, len(tokenizer)))
    if new_ids:
        logger.info("added special tokens %s", tokenizer.convert_ids_to_tokens(new_ids))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = eos
    return cfg, new_ids


def _sync_special_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        setattr(model.config, name, getattr(tokenizer, name))
    eos_ids = model.generation_config.eos_token_id
    eos_ids = [] if eos_ids is None else [eos_ids] if isinstance(eos_ids, int) else list(eos_ids)
    model.generation_config.eos_token_id = [tokenizer.eos_token_id, *(i for i in eos_ids if i != tokenizer.eos_token_id)]
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def load_causal_lm(
    path: str,
    tokenizer: PreTrainedTokenizerBase,
    *,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    adapter: Literal["merge", "train"] = "merge",
    **load_kwargs,
) -> PreTrainedModel | PeftModel:
    """Load a causal LM from a model dir, hub name or PEFT adapter dir, sized for ``tokenizer``.

    For an adapter dir the base model named in its config is loaded and the adapter put
    on it: ``adapter="merge"`` merges it in, ``"train"`` keeps it trainable.
    """
    kwargs = {"dtype": dtype if dtype == "auto" else getattr(torch, dtype), "trust_remote_code": trust_remote_code}
    base = PeftConfig.from_pretrained(path).base_model_name_or_path if is_adapter_dir(path) else path
    try:
        model = AutoModelForCausalLM.from_pretrained(base, **kwargs, **load_kwargs)
    except OSError as err:
        raise UserError(f"cannot load a model from {base}: {str(err).splitlines()[0]}") from None
    _sync_special_ids(model, tokenizer)
    if base != path:
        model = PeftModel.from_pretrained(model, path, is_trainable=adapter == "train")
        if adapter == "merge":
            model = model.merge_and_unload()
    return model


def lora_config(cfg: TrainConfig, new_token_ids: list[int]) -> LoraConfig:
    """The LoRA adapter of ``cfg.peft``; tokens added to the vocabulary get trainable embeddings."""
    return LoraConfig(
        r=cfg.peft.r,
        lora_alpha=cfg.peft.alpha,
        lora_dropout=cfg.peft.dropout,
        target_modules=cfg.peft.target_modules,
        task_type="CAUSAL_LM",
        trainable_token_indices={"embed_tokens": new_token_ids} if new_token_ids else None,
    )


def load_policy(cfg: TrainConfig) -> Policy:
    """Tokenizer, model and LoRA config for a run of ``cfg``.

    Starting from an adapter dir (an SFT output trained with LoRA), LoRA/QLoRA runs keep
    training that adapter and full runs train the merged model.
    """
    tokenizer = load_tokenizer(cfg.model, cfg.trust_remote_code)
    cfg, new_ids = add_special_strings(tokenizer, cfg)
    quantization = _quantization(cfg)
    adapter = "merge" if cfg.peft.method == "full" else "train"
    model = load_causal_lm(
        cfg.model, tokenizer, dtype=cfg.dtype, trust_remote_code=cfg.trust_remote_code, adapter=adapter, **quantization
    )
    if quantization:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
    if isinstance(model, PeftModel):
        if new_ids:
            logger.warning("tokens %s are new to adapter %s and stay untrained", new_ids, cfg.model)
        return Policy(model, tokenizer, None, cfg)
    return Policy(model, tokenizer, None if cfg.peft.method == "full" else lora_config(cfg, new_ids), cfg)


def save_output(trainer, tokenizer: PreTrainedTokenizerBase, cfg: TrainConfig) -> Path:
    """Save model or adapter, tokenizer (default chat template), a template per format, the config and the log."""
    out = Path(cfg.output_dir)
    options = {"bos": cfg.bos, "eos": cfg.eos, "chatml_markers": cfg.chatml_markers}
    tokenizer.chat_template = chat_template(cfg.default_format, **options)
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        trainer.state.save_to_json(str(out / STATE_FILE))
        (out / TEMPLATES_DIR).mkdir(parents=True, exist_ok=True)
        for fmt in FORMAT_NAMES:
            (out / TEMPLATES_DIR / f"{fmt}.jinja").write_text(chat_template(fmt, **options), encoding="utf-8")
        save_train_config(cfg, out / CONFIG_FILE)
    logger.info("saved %s to %s", "adapter" if isinstance(trainer.model, PeftModel) else "model", out)
    return out
