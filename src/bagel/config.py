"""The recipe: typed, validated configuration of a build (``bagel build RECIPE.yaml``).

Loaded with ``yaml.safe_load`` and validated with pydantic; unknown keys, unknown source
names and missing files are :class:`~bagel.errors.UserError` s with one-line messages.
Relative paths are resolved against the recipe's folder.
"""

from __future__ import annotations

import dataclasses
import os
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


PATH_KEYS = frozenset({"path", "tokenizer", "model", "static_model", "cache_dir"})  # recipe keys that name files


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
    allow_empty: bool = False  # a source that converts no row (all malformed) warns instead of failing the build
    max_malformed: float | None = Field(None, ge=0, le=1)  # override the recipe's max_malformed
    _pins: dict[str, str] = PrivateAttr(default_factory=dict)  # "hub_id@ref" -> commit, from the lock file

    def pin(self, pins: dict[str, str]) -> None:
        """Pin this source's hub reads to the commits of ``pins`` (a lock file's entry for it)."""
        self._pins = dict(pins)
    weight: float | None = Field(None, gt=0)  # share of `mix:` (normalised over weighted sources)
    oversample: bool = False  # a weighted source short of its share repeats rows instead of giving it away
    near_dedup: bool = True  # false: this source's rows skip near-duplicate dedup (many questions per passage)

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
        check_option_types(self.name, base.options, self.options)
        sample = base.sample
        if self.sample == 0:
            sample = None
        elif self.sample is not None:
            sample = dataclasses.replace(base.sample, n=self.sample) if base.sample else Sample(self.sample)
        changes = {
            "confidence": self.confidence if self.confidence is not None else base.confidence,
            "refusal": self.refusal or base.refusal,
            # another scope than the one a row-checking converter implements is checked on the records
            "refusal_stage": base.refusal_stage if self.refusal in (None, "none", base.refusal) else "records",
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


OPTION_TYPES = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                (dict, "a mapping"), ((list, tuple), "a list"))


def _type_name(value) -> str:
    return next((name for kind, name in OPTION_TYPES if isinstance(value, kind)), type(value).__name__)


def check_option_types(source: str, defaults: dict, options: dict) -> None:
    """Raise a :class:`UserError` for an option whose value is not of its default's type (an int may stand
    for a float; a default of None takes any value)."""
    for option, value in options.items():
        default = defaults[option]
        if default is None:
            continue
        expected = _type_name(default)
        got = _type_name(value)
        if got != expected and not (expected == "a number" and got == "an integer"):
            raise UserError(f"source {source}: option {option} must be {expected} (got {got})")


class CapConfig(StrictModel):
    """The per-source cap: a source with ``threshold`` rows or more is cut to ``keep``."""

    enabled: bool = True
    threshold: int = Field(75_000, ge=1)
    keep: int = Field(50_000, ge=1)


class RefusalConfig(StrictModel):
    """The refusal filter: case-insensitive patterns, applied where each source says."""

    enabled: bool = True
    patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_REFUSAL_PATTERNS))


class MixConfig(StrictModel):
    """The size of the weighted part of the mix: ``rows`` records, or ``tokens`` tokens (with ``tokenizer``)."""

    rows: int | None = Field(None, ge=1)
    tokens: int | None = Field(None, ge=1)
    tokenizer: str | None = None  # a local tokenizer folder or a hub id; also used for token statistics

    @model_validator(mode="after")
    def _one_budget(self):
        if (self.rows is None) == (self.tokens is None):
            raise ValueError("mix: give exactly one of `rows` or `tokens`")
        return self


class NearDedupConfig(StrictModel):
    """Near-duplicate dedup: MinHash LSH over character ``ngram`` s of each record's normalised key text."""

    enabled: bool = False
    threshold: float = Field(0.8, gt=0, lt=1)  # estimated Jaccard similarity at which a row is a near copy
    num_perm: int = Field(128, ge=16, le=1024)
    ngram: int = Field(5, ge=1, le=64)


class DedupConfig(StrictModel):
    """Dedup beyond the exact (uuid5 id) priority dedup, which is always on."""

    near: NearDedupConfig = Field(default_factory=NearDedupConfig)


class ExcludeConfig(StrictModel):
    """An existing set whose rows (by id, and by near copy with near dedup on) are kept out of the build:
    a previous build's ``records.parquet``, or any file described with ``shape`` + ``columns``."""

    name: str
    path: Path
    shape: Shape | None = None
    columns: dict[str, str | None] = Field(default_factory=dict)


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
    max_malformed: float = Field(0.10, ge=0, le=1)  # warn for a source with a larger share of malformed rows
    _base_dir: Path | None = PrivateAttr(None)  # the recipe file's folder, for paths shown in reports

    def display_path(self, path: Path | str) -> str:
        """``path`` as shown in reports and messages: relative to the recipe's folder (never absolute)."""
        path = Path(path)
        if not path.is_absolute():
            return path.as_posix()
        if self._base_dir is None:
            return path.name
        return Path(os.path.relpath(path, self._base_dir)).as_posix()

    def portable_dump(self) -> dict:
        """The recipe as JSON data with every local path relative to the recipe's folder (for reports and
        cards, which leave the machine): values of ``path``, ``*_path``, ``tokenizer``, ``model``,
        ``static_model`` and ``cache_dir`` keys that are absolute paths."""

        def walk(value, key: str = ""):
            if isinstance(value, dict):
                return {k: walk(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [walk(v, key) for v in value]
            if isinstance(value, str) and (key in PATH_KEYS or key.endswith("_path")) and os.path.isabs(value):
                return self.display_path(value)
            return value

        return walk(self.model_dump(mode="json"))
    mix: MixConfig | None = None
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    exclude: list[ExcludeConfig] = Field(default_factory=list)
    tokenizer: str | None = None  # for token statistics (else `mix.tokenizer`; else words are counted)
    max_seq_length: int = Field(4096, ge=1)  # the report's truncation share is measured at this length

    @model_validator(mode="after")
    def _unique_names(self):
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source listed twice: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _mix_and_weights(self):
        weighted = [s.name for s in self.sources if s.enabled and s.weight is not None]
        if weighted and self.mix is None:
            raise ValueError(f"source(s) {', '.join(weighted)} set `weight` but the recipe has no `mix:` size")
        if self.mix is not None and not weighted:
            raise ValueError("`mix:` is set but no enabled source has a `weight`")
        if self.mix is not None and self.mix.tokens is not None and self.token_counter_spec() is None:
            raise ValueError("`mix: {tokens: N}` needs a tokenizer (`mix.tokenizer` or `tokenizer`)")
        oversampled = [s.name for s in self.sources if s.oversample and s.weight is None]
        if oversampled:
            raise ValueError(f"source(s) {', '.join(oversampled)} set `oversample` without a `weight`")
        names = [e.name for e in self.exclude]
        if len(set(names)) != len(names):
            raise ValueError("exclude: every set needs its own `name`")
        return self

    def token_counter_spec(self) -> str | None:
        """The tokenizer that token counts use (``tokenizer``, else ``mix.tokenizer``); None: count words."""
        return self.tokenizer or (self.mix.tokenizer if self.mix is not None else None)

    def enabled_sources(self) -> list[tuple[SourceConfig, Source]]:
        """Enabled entries with their resolved sources, in load order: confidence desc, then name."""
        pairs = [(cfg, cfg.resolve()) for cfg in self.sources if cfg.enabled]
        return sorted(pairs, key=lambda pair: (-pair[1].confidence, pair[1].name))


def load_recipe(path: Path) -> Recipe:
    """Read and validate a recipe YAML; every problem is a one-line :class:`UserError`."""
    path = Path(path)
    recipe = load_yaml_model(path, Recipe, "recipe", defaults={"name": path.stem})
    base = path.parent
    recipe._base_dir = base.resolve()
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
    _resolve_extra_paths(recipe, base)
    return recipe


def _resolve_extra_paths(recipe: Recipe, base: Path) -> None:
    """Exclude-set paths relative to the recipe's folder (and must exist); tokenizers too when such a folder exists."""
    for excluded in recipe.exclude:
        if not excluded.path.is_absolute():
            excluded.path = (base / excluded.path).resolve()
        if not excluded.path.exists():
            raise UserError(f"exclude {excluded.name}: file not found: {excluded.path}")
    for owner in (recipe, recipe.mix):
        value = getattr(owner, "tokenizer", None)
        if value and not Path(value).is_absolute() and (base / value).exists():
            owner.tokenizer = str((base / value).resolve())
