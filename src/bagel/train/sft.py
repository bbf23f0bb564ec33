"""Supervised fine-tuning: a thin configured layer over TRL's ``SFTTrainer``.

The rows arrive tokenized (``input_ids`` + ``completion_mask``, see
:func:`bagel.train.data.tokenize_sft`); TRL turns the mask into ``-100`` labels on the
prompt tokens, truncates to ``max_length``, drops rows left without a trained token,
packs when asked, and adds NEFTune noise.
"""

from __future__ import annotations

from pathlib import Path

from trl import SFTConfig, SFTTrainer

from bagel.log import logger
from bagel.train.config import SFTTrainConfig
from bagel.train.data import load_sft_rows, tokenize_sft
from bagel.train.models import load_policy, save_output, training_args


def sft_trainer(cfg: SFTTrainConfig) -> tuple[SFTTrainer, SFTTrainConfig]:
    """An ``SFTTrainer`` ready to train ``cfg`` (model loaded, rows tokenized and masked), and the resolved config."""
    args = training_args(
        SFTConfig,
        cfg,
        completion_only_loss=True,
        packing=cfg.packing,
        neftune_noise_alpha=cfg.neftune_noise_alpha,
    )
    policy = load_policy(cfg)
    rows = tokenize_sft(load_sft_rows(policy.cfg), policy.tokenizer)
    trainer = SFTTrainer(
        model=policy.model,
        args=args,
        train_dataset=rows,
        processing_class=policy.tokenizer,
        peft_config=policy.peft_config,
    )
    return trainer, policy.cfg


def run_sft(cfg: SFTTrainConfig) -> Path:
    """Train ``cfg`` and save the output dir; return it."""
    trainer, cfg = sft_trainer(cfg)
    logger.info("sft: %d rows, %s fine-tuning", len(trainer.train_dataset), cfg.peft.method)
    trainer.train()
    return save_output(trainer, trainer.processing_class, cfg)
