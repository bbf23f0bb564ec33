"""Precision on real look-alikes: multiple-choice items as question + choices, df-weighted n-grams,
numbers as hard tokens for math items, generic items, evidence in removal records, coverage."""

import json
from pathlib import Path

import pytest

from bagel.decontam import DecontamOptions, Decontaminator
from bagel.decontam.coverage import coverage, over_threshold
from bagel.decontam.normalize import longest_span, numbers, segmented
from bagel.decontam.texts import benchmark_variants
from bagel.benchmarks import load_benchmark
from bagel.records import single_turn, to_table

# Real MMLU test items (cais/mmlu, high_school_statistics / high_school_biology): stems many items share.
TRUE_STATEMENT = {
    "question": "Which of the following is a true statement?", "subject": "high_school_statistics", "answer": 2,
    "choices": [
        "While properly designed experiments can strongly suggest cause-and-effect relationships, a complete "
        "census is the only way of establishing such a relationship.",
        "If properly designed, observational studies can establish cause-and-effect relationships just as "
        "strongly as properly designed experiments.",
        "Controlled experiments are often undertaken later to establish cause-and-effect relationships first "
        "suggested by observational studies.",
        "A useful approach to overcome bias in observational studies is to increase the sample size."]}
CLINE = {
    "question": "Which of the following is an example of a cline?", "subject": "high_school_biology", "answer": 3,
    "choices": [
        "The hybrid tomato plant is stronger and produces better fruit than the pure genotype.",
        "There are two distinct varieties in one population of snail that inhabits an island in the Pacific Ocean.",
        "Males of some species have long antlers to fight other males for females.",
        "In one species of rabbit, the ones that evolved in the cold, snowy north are white, while the ones that "
        "evolved in the south are brown."]}
ARITHMETIC = {"question": "−4 +  ( −3 )=", "subject": "elementary_mathematics", "answer": 0,
              "choices": ["−7", "−1", "1", "7"]}
# Real GSM8K test item (#602) and real GSM8K *train* questions on the same template.
PLANE = ("A plane travels 1200 miles in 3 hours. At the same rate, how many additional hours would it take to "
         "travel an additional 2000 miles?")
TRAINS = [
    "A train travels 270 miles in 3 hours. At the same rate, how many additional hours would it take to travel an "
    "additional 180 miles?",
    "A train travels 360 miles in 3 hours. At the same rate, how many additional hours would it take to travel an "
    "additional 240 miles?",
]
# Belebele (eng_Latn) questions: same stems, other content.
BELEBELE = [
    "Which of the following is a true statement about the Hindi and Urdu languages?\nA. There is usually a "
    "disconnect between speakers of both languages\nB. They differ in their vocabulary\nC. Their grammar is "
    "almost identical\nD. Hindi speakers cannot understand Urdu",
    "There are varying estimates for how many people speak Hindi.\nWhich of the following is a true statement?",
    "Virtually all computers in use today are based on binary numbers.\nWhich of the following is an example of "
    "a cline?",
]


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench")
    (folder / "mmlu.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (TRUE_STATEMENT, CLINE, ARITHMETIC)))
    (folder / "gsm8k.jsonl").write_text(json.dumps({"question": PLANE, "answer": "#### 5"}) + "\n")
    return folder


@pytest.fixture(scope="module")
def decon(bench_dir, tmp_path_factory):
    options = DecontamOptions(preset="ngram", benchmarks=[f"mmlu={bench_dir / 'mmlu.jsonl'}",
                                                          f"gsm8k={bench_dir / 'gsm8k.jsonl'}"])
    return Decontaminator(options, cache_dir=tmp_path_factory.mktemp("cache"))


def _removed(decon, texts: list[str]) -> list[tuple[int, str, int]]:
    rows = [single_turn(t, "x") for t in texts]
    for i, row in enumerate(rows):
        row["id"] = str(i)
    _, removals = decon.filter_batch(to_table(rows))
    return [(int(r["id"]), r["benchmark"], r["item_index"]) for r in removals]


def test_mc_item_indexed_with_choices(bench_dir):
    items = load_benchmark(f"mmlu={bench_dir / 'mmlu.jsonl'}")
    variants = benchmark_variants([items], DecontamOptions(preset="ngram"))
    # the short stems alone and the numbers-only item are not indexed; each item with its choices is
    assert [(v.item, v.text.split("\n")[0]) for v in variants] == [(0, TRUE_STATEMENT["question"]),
                                                                   (1, CLINE["question"])]
    assert variants[1].indexed.count("\ue001") == 4 and "A. " not in variants[1].indexed
    assert segmented("Q?\nA. one\n(2) two\n- three") == "Q? \ue001 one \ue001 two \ue001 three"


def test_stem_only_match_is_not_removed(decon):
    assert _removed(decon, BELEBELE) == []


def test_mc_item_with_its_choices_removed_in_any_order_and_labels(decon):
    choices = CLINE["choices"]
    relabelled = CLINE["question"] + "\n" + "\n".join(f"({i}) {c}" for i, c in enumerate(reversed(choices), 1))
    stem_plus_two = CLINE["question"] + "\n" + "\n".join(choices[:2])  # half the choices: below the threshold
    assert _removed(decon, [relabelled, stem_plus_two]) == [(0, "mmlu", 1)]


def test_gsm8k_same_template_other_numbers_kept(decon):
    assert _removed(decon, TRAINS) == []


def test_gsm8k_same_numbers_reworded_removed(decon):
    reworded = "Question: " + PLANE.replace("At the same rate", "At this same rate")
    other_numbers = PLANE.replace("1200", "1500").replace("2000", "2500")  # more n-grams shared, other numbers
    scores, _ = decon.ngram.score([reworded, other_numbers])
    assert scores.tolist() == [pytest.approx(10 / 18), pytest.approx(12 / 18)]  # both above the 0.5 threshold
    assert _removed(decon, [reworded, other_numbers]) == [(0, "gsm8k", 0)]


def test_gsm8k_numbers_dropped_not_replaced_removed(bench_dir, tmp_path):
    # every number required: a text missing one counts only when it states no number of its own
    strict = Decontaminator(DecontamOptions(preset="ngram", number_share=1.0,
                                            benchmarks=[f"gsm8k={bench_dir / 'gsm8k.jsonl'}"]), cache_dir=tmp_path)
    dropped = PLANE.replace("2000", "more")  # a number lost in copying, the rest held
    replaced = PLANE.replace("2000", "2500")
    most_dropped = dropped.replace("1200", "many")  # under half of the item's numbers
    assert _removed(strict, [dropped, replaced, most_dropped, PLANE.replace("1200", "1 ,200")]) == [
        (0, "gsm8k", 0), (3, "gsm8k", 0)]


def test_numbers_and_span():
    assert numbers("It costs $1,200.50, three or 2000.0; 05 and 7") == {"1200.5", "3", "2000", "5", "7"}
    # word-by-word tokenised text: a point or comma after a space between digits is read both ways
    assert numbers("Mars is 1 . 5 AU , 1 ,200 km; 1, 2", spaced=True) == {"1", "5", "1.5", "200", "1200", "2"}
    assert numbers("Mars is 1 . 5 AU") == {"1", "5"}
    assert longest_span("Tell me: A plane travels 1200 miles in 3 hours!", PLANE) == "a plane travels 1200 miles in 3 hours"


def test_removal_record_keeps_item_with_choices_span_and_score(decon):
    text = "Quiz time.\n" + CLINE["question"] + "\n" + "\n".join(f"{c}" for c in CLINE["choices"])
    _, removals = decon.filter_batch(to_table([single_turn(text, "x")]))
    record = removals[0]
    assert record["item_text"] == CLINE["question"] + "\n" + "\n".join(
        f"{l}. {c}" for l, c in zip("ABCD", CLINE["choices"]))
    assert (record["detector"], record["score"], record["benchmark_items"]) == ("ngram", 1.0, 3)
    assert record["span"] == ("in one species of rabbit the ones that evolved in the cold snowy north are white while "
                              "the ones that evolved in the south are brown")  # the longest choice: the longest run
    assert record["span_words"] == 26


def test_coverage_and_drop_source_above():
    removals = [
        {"source": "a", "benchmark": "gsm8k", "item_index": 1, "benchmark_items": 100},
        {"source": "a", "benchmark": "gsm8k", "item_index": 1, "benchmark_items": 100},  # same item twice
        {"source": "a", "benchmark": "gsm8k", "item_index": 7, "benchmark_items": 100},
        {"source": "a", "benchmark": "mmlu", "item_index": 3, "benchmark_items": 1000},
        {"source": "b", "benchmark": "gsm8k", "item_index": 2, "benchmark_items": 100},
    ]
    assert coverage(removals) == {"a": {"gsm8k": 0.02, "mmlu": 0.001}, "b": {"gsm8k": 0.01}}
    assert over_threshold(removals, 0.015) == {"a": 0.02}
    assert over_threshold(removals, 0.02) == {}
    assert over_threshold(removals, None) == {}
