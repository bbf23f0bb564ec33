"""Typed options of the decontamination step (the recipe's ``decontamination:`` block)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bagel.benchmarks import BenchmarkEntry

PRESETS = ("default", "bagel-original", "ngram")


class DecontamOptions(BaseModel):
    """Which benchmarks to keep out of the mix, and how near a training text must be to count.

    Presets:

    - ``default``: the n-gram detector, then the embedding detector on the rows it kept (a static
      model2vec model and the share of the item's words pick candidates, the transformer re-scores
      the uncertain ones);
    - ``ngram``: the n-gram detector alone (fast enough for millions of rows);
    - ``bagel-original``: the original rule (flat L2 index, k=1, squared L2 distance <=
      ``original_distance`` and relative length difference <= ``original_length_ratio``, one
      text per encode call), to reproduce it.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Registered names ("gsm8k"), "name=path", or {name, path, fields}; None = all registered ones
    # that are available offline (bundled).
    benchmarks: list[str | BenchmarkEntry] | None = None
    use_hub: bool = False  # load a benchmark with no local file from the Hugging Face hub
    preset: Literal["default", "bagel-original", "ngram"] = "default"
    # n-gram detector
    ngram_n: int = Field(8, ge=2, le=32)
    ngram_threshold: float = Field(0.5, gt=0, le=1)  # share of the item's n-grams found in the text
    ngram_min_words: int = Field(5, ge=1)  # shorter items only match texts at most short_slack words longer
    ngram_short_slack: int = Field(8, ge=0)
    # a multiple-choice question is indexed alone (without its choices) only from this many words on
    mc_question_min_words: int = Field(20, ge=1)
    # share of an item's numbers (math benchmarks; an MC item's question) an n-gram match must hold; an
    # embedding match (a paraphrase) must hold all of them and every choice of an MC item (lexical_min
    # of each choice's words); half of them and no number the item lacks also counts (numbers lost)
    number_share: float = Field(0.6, ge=0, le=1)
    # embedding detector: a static model finds candidates, the transformer model re-scores them
    model: str | None = None  # sentence-transformers name or path; None = the bundled all-MiniLM-L6-v2
    embedding_threshold: float = Field(0.85, gt=0, le=1)  # transformer cosine similarity
    static_model: str | None = None  # model2vec path; None = distilled locally from `model` (cached)
    static_threshold: float = Field(0.8, gt=0, le=1)  # static cosine for a benchmark text to be a candidate
    rescore_k: int = Field(2, ge=1)  # nearest benchmark texts (static) looked at per training text
    # static search: k-means cells searched per text (an inverted file over 2*sqrt(n) cells); None = exact
    static_probe: int | None = Field(16, ge=1)
    lexical_min: float = Field(0.4, ge=0, le=1)  # IDF-weighted share of the item's words; below: a look-alike
    static_accept: float = Field(0.9, gt=0, le=1)  # static cosine and ...
    lexical_accept: float = Field(0.75, ge=0, le=1)  # ... word share at which a candidate needs no re-scoring
    batch_size: int = Field(128, ge=1)
    max_seq_length: int | None = Field(256, ge=8)
    device: str | None = None
    # bagel-original preset
    original_distance: float = 0.05
    original_length_ratio: float = 0.20
    cache_dir: Path | None = None  # benchmark embeddings; None = ~/.cache/bagel/decontam
    # Drop a whole source whose coverage of some benchmark (share of the benchmark's items it holds)
    # is above this (Tulu 3 used 0.02); None = only the matching rows are removed.
    drop_source_above: float | None = Field(None, ge=0, le=1)
