"""A tiny offline model for demos and tests: a small Llama with random weights and a BPE tokenizer trained here.

The byte-level BPE tokenizer is trained with the ``tokenizers`` library on the given texts
(e.g. a build's rows), adds BOS to every encoding like Llama's, and knows the BOS/EOS the
rows were rendered with plus the chatml markers. No hub access anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from bagel.errors import UserError
from bagel.log import logger
from bagel.train.data import build_format
from bagel.train.models import CHATML_MARKERS

PAD = "<pad>"
TEXT_COLUMNS = {"sft.parquet": ("input", "output"), "dpo.parquet": ("prompt", "chosen", "rejected")}


def build_texts(build_dir: Path, limit: int = 20_000) -> Iterator[str]:
    """Up to ``limit`` texts of each column of a build's ``sft.parquet`` and ``dpo.parquet``."""
    files = {Path(build_dir) / name: columns for name, columns in TEXT_COLUMNS.items()}
    files = {path: columns for path, columns in files.items() if path.is_file()}
    if not files:
        raise UserError(f"no sft.parquet or dpo.parquet in {build_dir}")
    for path, columns in files.items():
        table = pq.read_table(path, columns=list(columns)).slice(0, limit)
        yield from (text for column in columns for text in table[column].to_pylist() if text)


def train_tokenizer(texts: Iterable[str], vocab_size: int, bos: str, eos: str) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts`` that prepends ``bos`` to every encoding."""
    special = list(dict.fromkeys([bos, eos, PAD, *CHATML_MARKERS]))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    bos_id = tok.token_to_id(bos)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=PAD)


def make_tiny_model(
    out_dir: Path,
    texts: Iterable[str],
    *,
    vocab_size: int = 2048,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    max_positions: int = 2048,
    bos: str = "<s>",
    eos: str = "</s>",
    seed: int = 0,
) -> Path:
    """Train a tokenizer on ``texts``, build a random-weight Llama around it and save both to ``out_dir``."""
    tokenizer = train_tokenizer(texts, vocab_size, bos, eos)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(1, heads // 2),
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    logger.info("tiny model: %d parameters, vocab %d -> %s", model.num_parameters(), len(tokenizer), out_dir)
    return out_dir


def make_tiny_model_for_build(out_dir: Path, build_dir: Path, **options) -> Path:
    """:func:`make_tiny_model` trained on a build's rows, with the BOS/EOS of its report.json."""
    fmt = build_format(str(build_dir))
    special = {key: fmt[key] for key in ("bos", "eos") if fmt.get(key)}
    return make_tiny_model(out_dir, build_texts(build_dir), **special, **options)
