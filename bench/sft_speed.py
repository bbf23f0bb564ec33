"""SFT throughput: tokens/s of our ``bagel train sft`` path against a plain TRL ``SFTTrainer`` run.

Both train the same tiny offline model (random Llama, BPE tokenizer trained on the rows) on
the same rendered rows (synthetic bagel-shaped records from bench/synth.py, all four
formats), with the same steps, batch size, max length and optimiser, full fine-tuning,
fp32, on CPU. Ours tokenizes prompt and response apart (exact prompt mask); plain TRL gets
``{prompt, completion}`` and tokenizes them itself. Tokens are the non-padding tokens of
the batches (TRL's ``num_tokens``); rates are per wall second and per CPU second of
``trainer.train()`` (on a loaded machine wall time is noisy: prefer the CPU figure), and
the setup time (loading, tokenizing) is shown apart.

Each path runs twice, alternated, since the load of a shared machine drifts.

Usage: python bench/sft_speed.py [RECORDS] [STEPS]   (defaults 2000 records, 60 steps)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import pyarrow.parquet as pq  # noqa: E402
import synth  # noqa: E402
from datasets import Dataset  # noqa: E402
from render import unified  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

from bagel.formats import FormatOptions, Renderer  # noqa: E402
from bagel.records import to_table  # noqa: E402
from bagel.train.config import SFTTrainConfig, trainer_arguments  # noqa: E402
from bagel.train.sft import sft_trainer  # noqa: E402
from bagel.train.tiny import make_tiny_model_for_build  # noqa: E402

SETTINGS = {
    "max_length": 512,
    "batch_size": 8,
    "learning_rate": 1e-3,
    "warmup": 0,
    "lr_scheduler": "constant",
    "gradient_checkpointing": False,
    "precision": "fp32",
    "logging_steps": 10,
}


def make_build(out: Path, n: int) -> Path:
    """Render ``n`` synthetic records in every format into ``out`` (sft.parquet, dpo.parquet, report.json)."""
    sft, dpo, _ = Renderer(FormatOptions(), seed=0).render_batch(to_table([unified(r) for r in synth.records(n)]))
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(sft, out / "sft.parquet")
    pq.write_table(dpo, out / "dpo.parquet")
    (out / "report.json").write_text(json.dumps({"format": {"bos": "<s>", "eos": "</s>", "chatml_markers": False}}))
    return out


def timed_train(trainer, setup_start: float) -> tuple[float, float, float, int]:
    """Train; return (setup wall seconds, train wall seconds, train CPU seconds, tokens trained on)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.train()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    tokens = max(h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h)
    return start - setup_start, seconds, cpu, int(tokens)


def ours(cfg: SFTTrainConfig) -> tuple[float, float, float, int]:
    """The ``bagel train sft`` path (without the final save)."""
    setup_start = time.perf_counter()
    trainer, _ = sft_trainer(cfg)
    return timed_train(trainer, setup_start)


def plain_trl(cfg: SFTTrainConfig) -> tuple[float, float, float, int]:
    """TRL's SFTTrainer on ``{prompt, completion}`` rows, with TRL's own tokenization and masking."""
    setup_start = time.perf_counter()
    table = pq.read_table(Path(cfg.data) / "sft.parquet", columns=["input", "output"])
    rows = Dataset(table.rename_columns(["prompt", "completion"]))
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(cfg.model),
        args=SFTConfig(**trainer_arguments(cfg)),
        train_dataset=rows,
        processing_class=AutoTokenizer.from_pretrained(cfg.model),
    )
    return timed_train(trainer, setup_start)


def main(n: int, steps: int) -> None:
    """Build rows and a tiny model once, then time both paths on them."""
    with tempfile.TemporaryDirectory() as tmp:
        build = make_build(Path(tmp) / "build", n)
        model = make_tiny_model_for_build(Path(tmp) / "tiny", build)
        rows = pq.read_metadata(build / "sft.parquet").num_rows
        size = f"{steps} steps x batch {SETTINGS['batch_size']}, max_length {SETTINGS['max_length']}"
        print(f"{n} records -> {rows} sft rows; tiny Llama; {size}")
        runs = (("bagel train sft", ours), ("plain TRL SFTTrainer", plain_trl)) * 2  # alternated: load drifts
        for name, run in runs:
            cfg = SFTTrainConfig(model=str(model), data=str(build), output_dir=f"{tmp}/out", max_steps=steps, **SETTINGS)
            setup, train, cpu, tokens = run(cfg)
            print(
                f"{name:>21}: {tokens / train:>7,.0f} tokens/s wall, {tokens / cpu:>7,.0f} per CPU-s  "
                f"({tokens:,} tokens in {train:.1f} s, {cpu:.1f} s CPU; setup {setup:.1f} s)"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, int(sys.argv[2]) if len(sys.argv) > 2 else 60)
