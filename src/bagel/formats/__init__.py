"""Rendering records into training rows in four prompt formats (alpaca, vicuna, chatml, llama2).

Public API: :class:`Renderer` (records to ``sft``/``dpo`` tables), :func:`render_prompt`
(inference prompts), :func:`chat_template` (Jinja for ``tokenizer_config.json``),
:func:`resolve_special_tokens`, and the output schemas :data:`SFT_SCHEMA` / :data:`DPO_SCHEMA`.
"""

from bagel.formats.options import FORMAT_NAMES, FormatOptions, SystemDefaults
from bagel.formats.prompt import render_prompt
from bagel.formats.renderer import DPO_SCHEMA, PLAIN_TEXT, SFT_SCHEMA, Renderer
from bagel.formats.templates import chat_template
from bagel.formats.tokens import resolve_special_tokens

__all__ = [
    "DPO_SCHEMA",
    "FORMAT_NAMES",
    "PLAIN_TEXT",
    "SFT_SCHEMA",
    "FormatOptions",
    "Renderer",
    "SystemDefaults",
    "chat_template",
    "render_prompt",
    "resolve_special_tokens",
]
