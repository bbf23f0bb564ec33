"""Which benchmark variants are indexed: a short variant counts only when one of its words is rare over items."""

from bagel.benchmarks import BenchmarkItems
from bagel.decontam import DecontamOptions
from bagel.decontam.texts import benchmark_variants


def test_short_variant_indexed_when_a_word_is_held_by_few_items_counted_per_item():
    # item 0's three variants are not consecutive; "porcupines" is in all three but in one item only (rare),
    # while "who", "are" and "you" are in three items each (a generic question, not indexed)
    texts = ["porcupines attack", "who are you", "how do porcupines attack", "are you who", "porcupines attack how",
             "you who are"]
    items = BenchmarkItems("custom", texts=texts, item_index=[0, 1, 0, 2, 0, 3],
                           display=["porcupines attack", "who are you", "are you who", "you who are"])
    variants = benchmark_variants([items], DecontamOptions(preset="ngram"))
    assert [(v.item, v.group, v.text, v.words, v.original) for v in variants] == [
        (0, 0, "porcupines attack", 2, True), (0, 0, "how do porcupines attack", 4, False),
        (0, 0, "porcupines attack how", 3, False)]
    every = benchmark_variants([items], DecontamOptions(preset="bagel-original"))  # the original indexed all
    assert [(v.item, v.words) for v in every] == [(0, 2), (1, 3), (0, 4), (2, 3), (0, 3), (3, 3)]
