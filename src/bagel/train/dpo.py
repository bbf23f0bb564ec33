"""Preference tuning: a thin configured layer over TRL's ``DPOTrainer``, starting from the SFT output.

The reference policy is ``ref_model`` when given; otherwise a frozen copy of the starting
model (full fine-tuning), the model without the new adapter (LoRA on a full SFT model),
or a frozen copy of the SFT adapter (continuing a LoRA SFT adapter). With
``precompute_ref_log_probs`` its log-probs are computed once, before training.
"""

from __future__ import annotations

from pathlib import Path

from peft import PeftModel
from trl import DPOConfig, DPOTrainer

from bagel.log import logger
from bagel.train.config import DPOTrainConfig
from bagel.train.data import load_dpo_rows
from bagel.train.models import load_causal_lm, load_policy, save_output, training_args

REF_ADAPTER = "ref"  # the frozen copy of a continued adapter that DPOTrainer adds


def dpo_trainer(cfg: DPOTrainConfig) -> tuple[DPOTrainer, DPOTrainConfig]:
    """A ``DPOTrainer`` ready to train ``cfg``, and the resolved config."""
    args = training_args(
        DPOConfig,
        cfg,
        beta=cfg.beta,
        loss_type=cfg.loss_type,
        precompute_ref_log_probs=cfg.precompute_ref_log_probs,
    )
    policy = load_policy(cfg)
    cfg = policy.cfg
    ref_model = None
    if cfg.ref_model or (cfg.peft.method == "full" and not cfg.precompute_ref_log_probs):
        # Loaded here rather than by TRL, which would reload the base of a merged SFT adapter.
        ref_model = load_causal_lm(
            cfg.ref_model or cfg.model,
            policy.tokenizer,
            dtype=cfg.dtype,
            trust_remote_code=cfg.trust_remote_code,
        )
    trainer = DPOTrainer(
        model=policy.model,
        ref_model=ref_model,
        args=args,
        train_dataset=load_dpo_rows(cfg),
        processing_class=policy.tokenizer,
        peft_config=policy.peft_config,
    )
    return trainer, cfg


def run_dpo(cfg: DPOTrainConfig) -> Path:
    """Train ``cfg`` and save the output dir; return it."""
    trainer, cfg = dpo_trainer(cfg)
    logger.info("dpo: %d pairs, %s fine-tuning, beta %s", len(trainer.train_dataset), cfg.peft.method, cfg.beta)
    trainer.train()
    model = trainer.accelerator.unwrap_model(trainer.model)
    if isinstance(model, PeftModel) and REF_ADAPTER in model.peft_config:
        model.delete_adapter(REF_ADAPTER)
    return save_output(trainer, trainer.processing_class, cfg)
