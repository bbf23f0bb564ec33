"""The training texts decontamination compares: per checked row, the first human turn and the whole instruction."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bagel.benchmarks import REGISTRY, BenchmarkItems
from bagel.decontam.normalize import LABEL, BREAK, numbers, segmented, words

HUMAN_ROLES = ("human", "user")  # lmsys_chat_1m keeps "user" turns; they are checked too


@dataclass
class RowTexts:
    """``rows[i]`` is a row index of the table; ``first[i]`` its first human turn (or dpo prompt),
    ``whole[i]`` all its human turns joined by newlines (equal to ``first[i]`` for one turn)."""

    rows: np.ndarray
    first: list[str]
    whole: list[str]


def row_texts(table: pa.Table) -> RowTexts:
    """Texts of the sft rows (human turns) and dpo rows (prompt) of ``table``; ``text`` rows are not checked."""
    n = table.num_rows
    checked = pc.not_equal(table.column("kind"), "text").to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    first: list = [None] * n
    whole: list = [None] * n
    conv = table.column("conversations").combine_chunks()
    if n and conv.null_count < n:
        flat = pc.list_flatten(conv)
        human = pc.and_(pc.is_in(flat.field("from"), value_set=pa.array(HUMAN_ROLES)), pc.is_valid(flat.field("value")))
        human = human.to_numpy(zero_copy_only=False)
        parents = pc.list_parent_indices(conv).to_numpy()[human]
        values = flat.field("value").filter(pa.array(human)).to_pylist()
        rows, start, count = np.unique(parents, return_index=True, return_counts=True)
        for row, lo, k in zip(rows.tolist(), start.tolist(), count.tolist()):
            first[row] = values[lo]
            whole[row] = values[lo] if k == 1 else "\n".join(values[lo : lo + k])
    prompts = table.column("prompt").to_pylist()
    keep = [i for i in np.flatnonzero(checked).tolist() if first[i] or prompts[i]]
    for i in keep:
        if not first[i]:
            first[i] = whole[i] = prompts[i]
    return RowTexts(np.asarray(keep, dtype=np.int64), [first[i] for i in keep], [whole[i] for i in keep])


@dataclass
class Variant:
    """One indexed text of a benchmark item.

    ``text`` is what the embedding detectors compare, ``indexed`` what the n-gram index holds (a
    multiple-choice item's question and choices split by breaks), ``words`` its word count (0 when all
    are numbers), ``numbers`` the numbers (of the question) a match
    must hold (math benchmarks; empty otherwise), ``original`` whether the original rule indexed it.
    """

    bench: int
    item: int
    group: int  # one id per benchmark item, over all benchmarks
    text: str
    indexed: str
    words: int
    numbers: frozenset
    original: bool
    choices: tuple = ()  # a multiple-choice variant's choices (the lines after the question)


def full_texts(items: BenchmarkItems) -> list[str]:
    """Per item, the text shown in removal records: the item as a model sees it (question + choices)."""
    registered = REGISTRY.get(items.name)
    position = registered.full_variant if registered else 0
    grouped: list[list[str]] = [[] for _ in items.display]
    for text, item in zip(items.texts, items.item_index):
        grouped[item].append(text)
    return [group[position] if position < len(group) else group[0] for group in grouped]


RARE_ITEMS = 2  # a word held by at most this many benchmark items makes a short item specific


def benchmark_variants(benchmarks: list[BenchmarkItems], options) -> list[Variant]:
    """The indexed variants of all items of ``benchmarks``.

    A variant of numbers only, or of fewer than ``options.ngram_min_words`` words none of which is rare
    (held by at most :data:`RARE_ITEMS` items), is generic ("Who are you?", unlike "How do porcupines
    attack?"): not indexed. Multiple-choice benchmarks: a variant with lines (question + choices,
    question + answer) is indexed segmented; the question alone only when it has at least
    ``options.mc_question_min_words`` words (a short stem such as "Which of the following is a true
    statement?" is no evidence without its choices). The ``bagel-original`` preset indexes every
    variant, as the original did.
    """
    ours = options.preset != "bagel-original"
    # Only counts are kept per variant; the words of the few short ones are split again below (holding
    # every variant's word list at once cost each process that sets up a decontaminator ~140 MB).
    rows, held = [], Counter()  # (benchmark, item, text, indexed, word count); items holding each word
    for b, items in enumerate(benchmarks):
        registered = REGISTRY.get(items.name)
        choice = bool(registered and registered.multiple_choice) and ours
        indexed = [segmented(text) if choice and "\n" in text.strip() else text for text in items.texts]
        counts = [0] * len(indexed)
        item_words: set = set()  # the words of one item, its variants taken together (in item order)
        by_item = sorted(range(len(indexed)), key=items.item_index.__getitem__)
        for i, j in zip(by_item, [*by_item[1:], None]):
            found = _found_words(indexed[i])
            counts[i] = len(found) if any(not w.isdigit() for w in found) else 0
            item_words.update(found)
            if j is None or items.item_index[j] != items.item_index[i]:
                held.update(item_words)
                item_words = set()
        rows.extend(zip([b] * len(indexed), items.item_index, items.texts, indexed, counts))
    out, offsets, seen = [], np.cumsum([0, *(len(items.display) for items in benchmarks)]), {}
    for b, item, text, indexed, count in rows:
        registered = REGISTRY.get(benchmarks[b].name)
        choice = bool(registered and registered.multiple_choice) and ours
        seen[(b, item)] = seen.get((b, item), 0) + 1
        generic = count < options.ngram_min_words and not any(held[w] <= RARE_ITEMS for w in _found_words(indexed))
        if ours and (count == 0 or generic):
            continue  # no evidence of anything
        if choice and "\n" not in text.strip() and count < options.mc_question_min_words:
            continue
        lines = [line for line in text.split("\n") if line.strip()] if choice else [text]
        numeric = bool(registered and registered.numeric)
        keep = registered.original_variants if registered else 1
        out.append(Variant(b, item, int(offsets[b]) + item, text, indexed, count,
                           frozenset(numbers(lines[0])) if numeric else frozenset(), seen[(b, item)] <= keep,
                           tuple(LABEL.sub("", line) for line in lines[1:])))
    return out


def _found_words(indexed: str) -> list[str]:
    """The words of an indexed text (choice labels and breaks are not words)."""
    return [w for w in words(indexed) if w != BREAK]
