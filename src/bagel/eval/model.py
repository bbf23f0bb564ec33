"""The model under evaluation, as lm-eval's ``HFLM``: a full model or a PEFT adapter, in a bagel prompt format.

The prompt format is applied through lm-eval's ``apply_chat_template``: the tokenizer handed to
``HFLM`` carries the chat template of the chosen format (the model dir's
``chat_templates/<format>.jinja``, written by ``bagel train``, else the format's template built
with the tokenizer's BOS/EOS). Without ``--format``, a trained dir's default template is used,
and a model with no chat template at all is scored on plain prompts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bagel.formats import chat_template
from bagel.formats.registry import get_format
from bagel.log import logger
from bagel.train.models import TEMPLATES_DIR, is_adapter_dir, load_tokenizer, saved_train_config


@dataclass
class EvalModel:
    """Where the weights are (``base`` plus an optional ``adapter``), the tokenizer, the format and its template."""

    path: str
    base: str
    adapter: str | None
    tokenizer: object
    fmt: str | None
    template: str | None


def default_format(path: str) -> str | None:
    """The format a bagel-trained dir was trained to chat in (its chat format, else its first format), or None."""
    trained = saved_train_config(path)
    return trained.get("chat_format") or (trained.get("formats") or [None])[0]


def _format_template(path: str, fmt: str, tokenizer, trained: dict) -> str:
    saved = Path(path) / TEMPLATES_DIR / f"{fmt}.jinja"
    if saved.is_file():
        return saved.read_text(encoding="utf-8")
    logger.info("%s has no %s; using the %s template with the tokenizer's BOS/EOS", path, saved.name, fmt)
    return chat_template(fmt, bos=tokenizer.bos_token or "", eos=tokenizer.eos_token or "",
                         chatml_markers=bool(trained.get("chatml_markers")))


def resolve_model(path: str, fmt: str | None = None, trust_remote_code: bool = False) -> EvalModel:
    """Load the tokenizer of ``path`` and give it the chat template of ``fmt`` (see the module docstring)."""
    if fmt is not None:
        get_format(fmt)  # an unknown format fails before anything loads
    tokenizer = load_tokenizer(path, trust_remote_code)
    fmt = fmt or default_format(path)
    if fmt is not None:
        tokenizer.chat_template = _format_template(path, fmt, tokenizer, saved_train_config(path))
    elif tokenizer.chat_template:
        fmt = "tokenizer"
    else:
        logger.warning("%s has no chat template and no --format was given: plain prompts", path)
    adapter = path if is_adapter_dir(path) else None
    if adapter:
        from peft import PeftConfig

        base = PeftConfig.from_pretrained(path).base_model_name_or_path
    else:
        base = path
    return EvalModel(path, base, adapter, tokenizer, fmt, tokenizer.chat_template if fmt else None)


def make_lm(model: EvalModel, *, device: str | None = None, batch_size: int | str = 1, dtype: str = "auto",
            parallelize: bool = False, trust_remote_code: bool = False):
    """lm-eval's ``HFLM`` for ``model``: weights loaded by name (so under ``accelerate launch`` each process
    scores its share of the data, and ``parallelize`` spreads one copy over the GPUs), the adapter through
    HFLM's ``peft=``, and our tokenizer with its chat template."""
    import torch
    from lm_eval.models.huggingface import HFLM

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return HFLM(pretrained=model.base, peft=model.adapter, tokenizer=model.tokenizer, device=device,
                batch_size=batch_size, dtype=dtype, parallelize=parallelize, trust_remote_code=trust_remote_code)
