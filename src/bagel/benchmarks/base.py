"""What a benchmark is: where its items come from and which text of each row is compared."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

# One row of a benchmark file (any of its published formats) -> the texts to index.
# The first text is the one shown in removal records; further ones are variants of the same item.
TextFn = Callable[[dict], list[str]]


class HubSource(BaseModel):
    """A Hugging Face hub location: ``load_dataset(path, name, split=split)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    name: str | None = None
    split: str


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: hub location, bundled copy (file under ``bagel/data/benchmarks``), text rule."""

    name: str
    texts: TextFn
    hub: HubSource | None = None
    bundled: str | None = None
    original_variants: int = 1  # how many leading text variants the original indexed
    # Multiple choice: a variant with lines (question + choices) is indexed as separate spans, a variant
    # that is the question alone only when the question is long enough to be evidence by itself.
    multiple_choice: bool = False
    full_variant: int = 0  # the variant shown in removal records: the item as a model sees it
    numeric: bool = False  # a match must also hold the item's (question's) numbers


@dataclass
class BenchmarkItems:
    """The loaded texts of one benchmark: ``texts[i]`` is a variant of item ``item_index[i]``.

    ``display[j]`` is the first variant of item ``j``.
    """

    name: str
    texts: list[str] = field(default_factory=list)
    item_index: list[int] = field(default_factory=list)
    display: list[str] = field(default_factory=list)

    def add(self, variants: list[str]) -> None:
        """Append one item with its text variants (empty variants are skipped; no variant, no item)."""
        variants = [v for v in dict.fromkeys(variants) if v and v.strip()]
        if not variants:
            return
        j = len(self.display)
        self.display.append(variants[0])
        self.texts.extend(variants)
        self.item_index.extend([j] * len(variants))


def lettered(question: str, labels: list[str], choices: list[str]) -> str:
    """``question`` followed by one ``<label>. <choice>`` line per choice (the original's ARC rendering)."""
    return "\n".join([question, *(f"{lab}. {text}" for lab, text in zip(labels, choices))])


LETTERS = "ABCDEFGHIJ"
