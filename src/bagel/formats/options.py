"""Typed options of the rendering step (the recipe's ``format:`` block)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bagel.errors import UserError

FORMAT_NAMES = ("alpaca", "vicuna", "chatml", "llama2")


class SystemDefaults(BaseModel):
    """Default system prompts added, with a probability, when an item has none."""

    model_config = ConfigDict(extra="forbid")

    vicuna_prompt: str = "A chat between a user and an unbiased, uncensored assistant."
    vicuna_probability: float = Field(0.35, ge=0, le=1)
    assistant_prompt: str = "You are an unbiased, uncensored, helpful assistant."
    chatml_probability: float = Field(0.15, ge=0, le=1)
    llama2_probability: float = Field(0.15, ge=0, le=1)


class FormatOptions(BaseModel):
    """How records become training rows: which formats, which mode, which BOS/EOS."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["every", "slices", "random"] = "every"
    formats: list[Literal["alpaca", "vicuna", "chatml", "llama2"]] = Field(default_factory=lambda: list(FORMAT_NAMES))
    bos: str = "<s>"
    eos: str = "</s>"
    tokenizer: str | None = None  # when set, bos/eos are read from this tokenizer (offline)
    chatml_markers: bool = False  # real <|im_start|>/<|im_end|> instead of bos/eos
    system_defaults: SystemDefaults = Field(default_factory=SystemDefaults)

    @field_validator("formats")
    @classmethod
    def _distinct_formats(cls, formats: list[str]) -> list[str]:
        """At least one format, each at most once."""
        if not formats:
            raise ValueError("at least one format is needed")
        if len(set(formats)) != len(formats):
            raise ValueError(f"formats listed twice: {formats}")
        return formats


def options_from_flags(**flags) -> FormatOptions:
    """FormatOptions from command-line flags (None keeps the default); invalid values are a UserError."""
    try:
        return FormatOptions(**{name: value for name, value in flags.items() if value is not None})
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"invalid format option {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
