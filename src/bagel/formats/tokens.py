"""BOS/EOS strings: from a local tokenizer (loaded offline) or from the recipe."""

from __future__ import annotations

from bagel.errors import UserError
from bagel.formats.options import FormatOptions
from bagel.log import logger


def resolve_special_tokens(options: FormatOptions) -> tuple[str, str]:
    """``(bos, eos)``: the tokenizer's when ``options.tokenizer`` is set (recipe values fill gaps), else the recipe's.

    The tokenizer is a local path, loaded offline with ``AutoTokenizer``.
    """
    if options.tokenizer is None:
        return options.bos, options.eos
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(options.tokenizer, local_files_only=True)
    except (OSError, ValueError) as err:
        raise UserError(f"cannot load tokenizer {options.tokenizer!r} offline: {str(err).splitlines()[0]}") from None
    bos, eos = tokenizer.bos_token, tokenizer.eos_token
    for name, value, fallback in (("bos", bos, options.bos), ("eos", eos, options.eos)):
        if value is None:
            logger.warning("tokenizer %s has no %s token; using %r from the recipe", options.tokenizer, name, fallback)
    return bos or options.bos, eos or options.eos
