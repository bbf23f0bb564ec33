"""Token counting for the mix and the report: a tokenizer's tokens, or whitespace words when none is configured.

Texts are counted as they are, without special tokens. The tokenizer is a local folder or a hub
id, loaded with ``AutoTokenizer.from_pretrained`` (offline when ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bagel.errors import UserError


def load_tokenizer(spec: str, local_files_only: bool = False):
    """The tokenizer ``spec`` names; a :class:`UserError` when it cannot be loaded."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(spec, local_files_only=local_files_only)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load tokenizer {spec!r}: {str(err).splitlines()[0]}") from None


class TokenCounter:
    """Counts tokens with a tokenizer (``spec``), or words (whitespace-separated) when ``spec`` is None."""

    def __init__(self, spec: str | None, tokenizer=None):
        self.spec = spec
        self.unit = "tokens" if spec else "words"
        self.tokenizer = tokenizer if tokenizer is not None else load_tokenizer(spec) if spec else None

    def count(self, texts: list[str]) -> np.ndarray:
        """The length of each text (int64), in :attr:`unit`."""
        if self.tokenizer is None:
            return np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
        if not texts:
            return np.zeros(0, dtype=np.int64)
        ids = self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))


def record_texts(table: pa.Table | pa.RecordBatch) -> list[str]:
    """The trained text of each record: every turn of an sft chat, prompt + chosen of a pair, or the text."""
    out = []
    for kind, turns, prompt, chosen, body in zip(*(table.column(c).to_pylist() for c in
                                                   ("kind", "conversations", "prompt", "chosen", "text"))):
        if kind == "dpo":
            out.append(f"{prompt or ''}\n{chosen or ''}")
        elif kind == "text":
            out.append(body or "")
        else:
            out.append("\n".join(t["value"] or "" for t in turns or []))
    return out
