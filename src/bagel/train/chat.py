"""``bagel chat`` / ``bagel generate``: render a conversation with our formatter and stream the model's reply.

A model dir is a full model or a PEFT adapter dir (merged in on load). The BOS/EOS are
the tokenizer's (a trained output dir saves the ones it trained with) and the chatml
marker option comes from the dir's ``bagel_train_config.yaml`` when there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TextStreamer

from bagel.formats import render_prompt
from bagel.train.models import load_causal_lm, load_tokenizer, saved_train_config

EXIT_COMMANDS = ("/exit", "/quit")
RESET_COMMAND = "/reset"


@dataclass
class ChatModel:
    """A model ready to answer, with what rendering its prompts needs."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    chatml_markers: bool = False

    def render(self, conversation: list[dict], fmt: str) -> str:
        """The prompt for the next assistant turn of ``conversation`` in ``fmt``."""
        return render_prompt(
            conversation,
            fmt,
            bos=self.tokenizer.bos_token or "",
            eos=self.tokenizer.eos_token,
            chatml_markers=self.chatml_markers,
        )


def load_chat_model(path: str, trust_remote_code: bool = False) -> ChatModel:
    """Load a full model or an adapter dir for generation (on the GPU when there is one)."""
    tokenizer = load_tokenizer(path, trust_remote_code)
    model = load_causal_lm(path, tokenizer, trust_remote_code=trust_remote_code, adapter="merge")
    model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
    return ChatModel(model, tokenizer, bool(saved_train_config(path).get("chatml_markers")))


def generate_reply(
    chat: ChatModel,
    conversation: list[dict],
    fmt: str,
    *,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    stream: bool = True,
) -> str:
    """Generate the next assistant turn of ``conversation`` (streamed to stdout when ``stream``); return its text."""
    inputs = chat.tokenizer(chat.render(conversation, fmt), return_tensors="pt").to(chat.model.device)
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    streamer = TextStreamer(chat.tokenizer, skip_prompt=True, skip_special_tokens=True) if stream else None
    with torch.no_grad():
        output = chat.model.generate(**inputs, max_new_tokens=max_new_tokens, streamer=streamer, **sampling)
    return chat.tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()


def chat_loop(
    chat: ChatModel, fmt: str, system: str | None = None, read: Callable[[str], str] = input, **generation
) -> list[dict]:
    """Read user turns until EOF or ``/exit``, streaming each reply; ``/reset`` starts over. Returns the chat."""
    start = [{"from": "system", "value": system}] if system else []
    conversation = list(start)
    while True:
        try:
            line = read("user> ").strip()
        except EOFError:
            break
        if line in EXIT_COMMANDS:
            break
        if line == RESET_COMMAND:
            conversation = list(start)
            continue
        if not line:
            continue
        conversation.append({"from": "human", "value": line})
        print("assistant> ", end="", flush=True)
        conversation.append({"from": "gpt", "value": generate_reply(chat, conversation, fmt, **generation)})
    return conversation
