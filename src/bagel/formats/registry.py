"""The four prompt formats, one small definition each (exact strings: FORMATS.md).

A format turns ``(system, [human, gpt, human, ...])`` into one prompt (``input``) per
human turn, each holding the whole history before it, and a response into the trained
``output``. History is built incrementally, so an n-exchange chat costs O(n) string work.
"""

from __future__ import annotations

from bagel.errors import UserError
from bagel.formats.options import SystemDefaults

ALPACA_PREAMBLE = (
    "Below is an instruction that describes a task.  Write a response that appropriately completes the request."
)
IM_START, IM_END = "<|im_start|>", "<|im_end|>"


class PromptFormat:
    """Base of a format: ``inputs`` renders prompts, ``output`` the response, ``template`` names its Jinja file."""

    name = ""
    template = ""

    def __init__(self, bos: str = "<s>", eos: str = "</s>"):
        self.bos, self.eos = bos, eos

    def inputs(self, system: str | None, turns: list[str]) -> list[str]:
        """One prompt per human turn of ``turns`` (human, gpt, human, ...), with the history before it."""
        raise NotImplementedError

    def output(self, response: str) -> str:
        """The trained output for a response (newline runs already collapsed): left-stripped by default."""
        return response.lstrip()

    def default_system(self, defaults: SystemDefaults) -> tuple[str, float] | None:
        """The default system prompt and its probability for items without one (None: never)."""
        return None


class Alpaca(PromptFormat):
    """``{preamble}\\n\\n### Instruction: \\n{system}\\n\\n{instruction}\\n\\n### Response:\\n``."""

    name = template = "alpaca"

    def inputs(self, system, turns):
        history = ALPACA_PREAMBLE + "\n\n### Instruction: \n" + (system.strip() + "\n\n" if system else "")
        prompts = []
        for i in range(0, len(turns), 2):
            if i:
                history += "\n\n### Instruction: \n"
            history += turns[i].strip() + "\n\n### Response:\n"
            prompts.append(history)
            if i + 1 < len(turns):
                history += turns[i + 1].strip()
        return prompts


class Vicuna(PromptFormat):
    """``{system}\\nUSER: {instruction}\\nASSISTANT: `` (ends with a space)."""

    name = template = "vicuna"

    def inputs(self, system, turns):
        history = system.strip() + "\n" if system else ""
        prompts = []
        for i in range(0, len(turns), 2):
            history += "USER: " + turns[i].strip() + "\nASSISTANT: "
            prompts.append(history)
            if i + 1 < len(turns):
                history += turns[i + 1].strip() + "\n"
        return prompts

    def default_system(self, defaults):
        return defaults.vicuna_prompt, defaults.vicuna_probability


class ChatML(PromptFormat):
    """Blocks ``{role}\\n{text}\\n{eos}`` joined by ``\\n{bos}``, the first without ``{bos}`` ("sort of" chatml).

    With ``markers=True``: blocks ``<|im_start|>{role}\\n{text}<|im_end|>`` joined by ``\\n``
    (the later-release form), and the output ends with ``<|im_end|>``.
    """

    name = "chatml"

    def __init__(self, bos: str = "<s>", eos: str = "</s>", markers: bool = False):
        super().__init__(bos, eos)
        self.markers = markers
        self.template = "chatml_markers" if markers else "chatml"
        if markers:
            self.first_open, self.open, self.close = IM_START, IM_START, IM_END + "\n"
        else:
            self.first_open, self.open, self.close = "", bos, "\n" + eos + "\n"

    def inputs(self, system, turns):
        history = self.first_open + "system\n" + system.rstrip() + self.close if system else ""
        prompts = []
        for i in range(0, len(turns), 2):
            user_open = self.open if i or system else self.first_open
            history += user_open + "user\n" + turns[i].rstrip() + self.close + self.open + "assistant\n"
            prompts.append(history)
            if i + 1 < len(turns):
                history += turns[i + 1].rstrip() + self.close
        return prompts

    def output(self, response):
        return response.lstrip() + IM_END if self.markers else response.lstrip()

    def default_system(self, defaults):
        return defaults.assistant_prompt, defaults.chatml_probability


class Llama2(PromptFormat):
    """``[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{instruction} [/INST]``; later turns ``... {eos}{bos}[INST] ...``."""

    name = template = "llama2"

    def inputs(self, system, turns):
        history = "[INST] <<SYS>>\n" + system + "\n<</SYS>>\n\n" if system else "[INST] "
        history += turns[0] + " [/INST]"
        prompts = [history]
        for i in range(2, len(turns), 2):
            history += f" {turns[i - 1].strip()} {self.eos}{self.bos}[INST] {turns[i].strip()} [/INST]"
            prompts.append(history)
        return prompts

    def output(self, response):
        return response

    def default_system(self, defaults):
        return defaults.assistant_prompt, defaults.llama2_probability


FORMATS: dict[str, type[PromptFormat]] = {"alpaca": Alpaca, "vicuna": Vicuna, "chatml": ChatML, "llama2": Llama2}


def get_format(name: str, *, bos: str = "<s>", eos: str = "</s>", chatml_markers: bool = False) -> PromptFormat:
    """The format called ``name`` with these BOS/EOS strings; unknown names are a :class:`UserError`."""
    if name not in FORMATS:
        raise UserError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    if name == "chatml":
        return ChatML(bos, eos, markers=chatml_markers)
    return FORMATS[name](bos, eos)
