"""Inference prompts: a conversation so far, rendered as the prompt a model trained on bagel expects."""

from __future__ import annotations

from bagel.errors import UserError
from bagel.formats.chat import MalformedChat, normalize, split_chat
from bagel.formats.registry import get_format


def render_prompt(
    conversation: list[dict], fmt: str, *, bos: str = "<s>", eos: str = "</s>", chatml_markers: bool = False
) -> str:
    """The prompt for the next response: history plus the generation prompt, no default system prompt.

    ``conversation`` is a list of ``{from, value}`` or ``{role, content}`` dicts: an optional
    system turn, then turns alternating human/gpt, ending with the human turn to answer.
    """
    prompt_format = get_format(fmt, bos=bos, eos=eos, chatml_markers=chatml_markers)
    roles, texts = normalize(conversation)
    try:
        system, turns = split_chat(roles, texts, last="human")
    except MalformedChat as err:
        raise UserError(f"cannot render this conversation: {err.reason}") from None
    return prompt_format.inputs(system, turns)[-1]
