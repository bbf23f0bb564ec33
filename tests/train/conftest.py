"""Fixtures for the training tests: a small rendered build, a tiny model, and one SFT run shared by the session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from bagel import records  # noqa: E402
from bagel.formats import FormatOptions, Renderer  # noqa: E402

RECORDS = Path(__file__).parents[1] / "fixtures" / "train" / "records.jsonl"


def fixture_records() -> list[dict]:
    """The unified records of ``records.jsonl`` (sft chats, plain texts, dpo pairs)."""
    out = []
    for line in RECORDS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] == "sft":
            human = "\n".join(t["value"] for t in row["conversations"] if t["from"] == "human")
            rec = records.sft(human, row["conversations"])
        elif row["kind"] == "text":
            rec = records.text(row["text"])
        else:
            rec = records.dpo(row["prompt"], row["chosen"], row["rejected"])
        out.append(rec | {"source": row["source"], "confidence": 1})
    return out


def write_build(out: Path, bos: str = "<s>", eos: str = "</s>") -> Path:
    """Render the fixture records in all four formats into a build-shaped dir (sft/dpo parquet, report.json)."""
    out.mkdir(parents=True, exist_ok=True)
    sft, dpo, dropped = Renderer(FormatOptions(bos=bos, eos=eos), seed=0).render_batch(records.to_table(fixture_records()))
    assert not dropped
    pq.write_table(sft, out / "sft.parquet")
    pq.write_table(dpo, out / "dpo.parquet")
    (out / "report.json").write_text(json.dumps({"format": {"bos": bos, "eos": eos, "chatml_markers": False}}))
    return out


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    return write_build(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def tiny_model(build_dir, tmp_path_factory) -> Path:
    from bagel.train.tiny import make_tiny_model_for_build

    return make_tiny_model_for_build(tmp_path_factory.mktemp("tiny"), build_dir, vocab_size=1024, hidden_size=64)


def fast_sft_config(model: Path, data: Path, out: Path, **overrides):
    """A fast CPU SFT config over the fixture build."""
    from bagel.train.config import SFTTrainConfig

    base = {
        "model": str(model),
        "data": str(data),
        "output_dir": str(out),
        "max_length": 256,
        "max_steps": 30,
        "learning_rate": 3e-3,
        "warmup": 0,
        "lr_scheduler": "constant",
        "batch_size": 8,
        "gradient_checkpointing": False,
        "precision": "fp32",
        "logging_steps": 5,
    }
    return SFTTrainConfig.model_validate(base | overrides)


@pytest.fixture(scope="session")
def sft_config():
    """The factory :func:`fast_sft_config`."""
    return fast_sft_config


@pytest.fixture(scope="session")
def sft_model(tiny_model, build_dir, tmp_path_factory) -> Path:
    """A full fine-tune of the tiny model on the fixture build (30 steps)."""
    from bagel.train.sft import run_sft

    return run_sft(fast_sft_config(tiny_model, build_dir, tmp_path_factory.mktemp("sft")))
