"""Jinja chat templates (``tokenizer.chat_template``) that reproduce the renderer's strings.

Messages use the roles ``system``/``user``/``assistant``. With ``add_generation_prompt=True``
a template gives exactly the renderer's ``input`` (system prompt only when given, no
default-system coin). Rendering a whole chat gives ``input + output``, plus EOS for the
formats that close turns with it: ``chatml`` (bos/eos form) and ``llama2`` append ``{eos}``
after the final response; ``alpaca``, ``vicuna`` and ``chatml`` with markers (whose
output already ends with ``<|im_end|>``) append nothing. Runs of 3+ newlines in the final
response collapse to two, as in training outputs.
"""

from __future__ import annotations

import json
from importlib import resources

from bagel.formats.registry import get_format


def _jinja_string(value: str) -> str:
    """``value`` as a Jinja string literal."""
    return json.dumps(value, ensure_ascii=False)


def chat_template(fmt: str, *, bos: str = "<s>", eos: str = "</s>", chatml_markers: bool = False) -> str:
    """The Jinja chat template of format ``fmt``, with these BOS/EOS strings written in."""
    prompt_format = get_format(fmt, bos=bos, eos=eos, chatml_markers=chatml_markers)
    folder = resources.files("bagel.formats") / "templates"
    header = f"{{%- set bos = {_jinja_string(bos)} -%}}\n{{%- set eos = {_jinja_string(eos)} -%}}\n"
    return header + (folder / "_collapse.jinja").read_text() + (folder / f"{prompt_format.template}.jinja").read_text()
