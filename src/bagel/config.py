"""The recipe: typed, validated configuration of a build (``bagel build RECIPE.yaml``).

Loaded with ``yaml.safe_load`` and validated with pydantic; unknown keys, unknown source
names and missing files are :class:`~bagel.errors.UserError` s with one-line messages.
Relative paths are resolved against the recipe's folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from bagel.configfile import load_yaml_model
from bagel.decontam.options import DecontamOptions
from bagel.errors import UserError
from bagel.filters import DEFAULT_REFUSAL_PATTERNS
from bagel.formats.options import FormatOptions
from bagel.sources import get_source
from bagel.sources.base import Sample, Source
from bagel.sources.generic import Shape, make_source


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class SourceConfig(StrictModel):
    """One entry of ``sources:``: a registered source with overrides, or a recipe-declared one."""

    name: str
    enabled: bool = True
    path: Path | None = None  # local parquet/jsonl/json/csv file or directory in the hub schema
    hub_id: str | None = None
    hub_config: str | None = None
    split: str | None = None
    data_files: list[str] | None = None
    revision: str | None = None  # hub branch, tag or commit sha to read (default: the source's own, else main)
    confidence: int | None = Field(None, ge=0, le=9)
    sample: int | None = Field(None, ge=0)  # override the source's default sample size; 0 = no sampling
    cap: bool = True  # apply the recipe's cap to this source
    refusal: Literal["none", "responses", "all_turns", "chosen"] | None = None
    dedup: Literal["check_add", "add", "none"] | None = None
    options: dict = Field(default_factory=dict)
    shape: Shape | None = None  # declare a source that is not registered
    columns: dict[str, str | None] = Field(default_factory=dict)
    _pins: dict[str, str] = PrivateAttr(default_factory=dict)  # "hub_id@ref" -> commit, from the lock file

    def pin(self, pins: dict[str, str]) -> None:
        """Pin this source's hub reads to the commits of ``pins`` (a lock file's entry for it)."""
        self._pins = dict(pins)

    def resolve(self) -> Source:
        """The :class:`Source` this entry describes, overrides applied."""
        if self.shape is not None:
            base = make_source(self.name, self.shape, confidence=self.confidence or 1, columns=self.columns)
        else:
            if self.columns:
                raise UserError(f"source {self.name}: `columns` is only for recipe-declared sources (with `shape`)")
            base = get_source(self.name)
        unknown = set(self.options) - set(base.options)
        if unknown:
            known = ", ".join(sorted(base.options)) or "none"
            raise UserError(f"source {self.name}: unknown option(s) {', '.join(sorted(unknown))} (known: {known})")
        sample = base.sample
        if self.sample == 0:
            sample = None
        elif self.sample is not None:
            sample = dataclasses.replace(base.sample, n=self.sample) if base.sample else Sample(self.sample)
        changes = {
            "confidence": self.confidence if self.confidence is not None else base.confidence,
            "refusal": self.refusal or base.refusal,
            "dedup": self.dedup or base.dedup,
            "sample": sample,
            "options": {**base.options, **self.options},
            "hub_id": self.hub_id or base.hub_id,
            "hub_config": self.hub_config or base.hub_config,
            "split": self.split or base.split,
            "data_files": tuple(self.data_files) if self.data_files else base.data_files,
            "revision": self.revision or base.revision,
            "pins": dict(self._pins),
        }
        return dataclasses.replace(base, **changes)


class CapConfig(StrictModel):
    """The per-source cap: a source with ``threshold`` rows or more is cut to ``keep``."""

    enabled: bool = True
    threshold: int = Field(75_000, ge=1)
    keep: int = Field(50_000, ge=1)


class RefusalConfig(StrictModel):
    """The refusal filter: case-insensitive patterns, applied where each source says."""

    enabled: bool = True
    patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_REFUSAL_PATTERNS))


class Recipe(StrictModel):
    """A whole build: sources, filters, decontamination, rendering, seed."""

    name: str
    seed: int = 42
    sources: list[SourceConfig]
    cap: CapConfig = Field(default_factory=CapConfig)
    refusal: RefusalConfig = Field(default_factory=RefusalConfig)
    decontamination: DecontamOptions = Field(default_factory=DecontamOptions)
    format: FormatOptions = Field(default_factory=FormatOptions)
    batch_size: int = Field(4096, ge=1)

    @model_validator(mode="after")
    def _unique_names(self):
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source listed twice: {', '.join(dupes)}")
        return self

    def enabled_sources(self) -> list[tuple[SourceConfig, Source]]:
        """Enabled entries with their resolved sources, in load order: confidence desc, then name."""
        pairs = [(cfg, cfg.resolve()) for cfg in self.sources if cfg.enabled]
        return sorted(pairs, key=lambda pair: (-pair[1].confidence, pair[1].name))


def load_recipe(path: Path) -> Recipe:
    """Read and validate a recipe YAML; every problem is a one-line :class:`UserError`."""
    path = Path(path)
    recipe = load_yaml_model(path, Recipe, "recipe", defaults={"name": path.stem})
    base = path.parent
    for cfg in recipe.sources:
        if cfg.path is not None and not cfg.path.is_absolute():
            cfg.path = (base / cfg.path).resolve()
        for option, value in cfg.options.items():  # options naming files (`older_path`) are relative too
            if option.endswith("_path") and isinstance(value, str) and not Path(value).is_absolute():
                cfg.options[option] = str((base / value).resolve())
        if cfg.enabled and cfg.path is not None and not cfg.path.exists():
            raise UserError(f"source {cfg.name}: file not found: {cfg.path}")
        if cfg.enabled:
            cfg.resolve()  # unknown names and options fail here, at load
    return recipe
