"""The benchmark registry: bundled copies, every local format, user benchmarks."""

from pathlib import Path

import pytest

from bagel.benchmarks import REGISTRY, BenchmarkEntry, available_offline, load_benchmark
from bagel.errors import UserError

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"
SENTENCE = "Sarah was a much better surgeon than Maria so _ always got the easier cases."


def test_registered_names():
    assert list(REGISTRY) == [
        "alpaca_eval", "mt_bench", "drop", "winogrande", "mmlu", "truthfulqa", "gsm8k", "arc_challenge", "humaneval"
    ]
    assert available_offline() == [
        "mt_bench", "winogrande", "mmlu", "truthfulqa", "gsm8k", "arc_challenge", "humaneval"
    ]


@pytest.mark.parametrize(
    "name,items,texts",
    [("mt_bench", 80, 80), ("winogrande", 1267, 3801), ("mmlu", 14042, 28084), ("truthfulqa", 817, 817),
     ("gsm8k", 1319, 1319), ("arc_challenge", 1172, 2344), ("humaneval", 164, 164)],
)
def test_bundled_copies_load(name, items, texts):
    loaded = load_benchmark(name)
    assert (len(loaded.display), len(loaded.texts)) == (items, texts)


def test_gsm8k_jsonl_and_parquet_mmlu():
    assert load_benchmark(f"gsm8k={FIX / 'gsm8k_test.jsonl'}").display[1] == (
        "A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?"
    )
    mmlu = load_benchmark({"name": "mmlu", "path": FIX / "mmlu_sample.parquet"})
    assert mmlu.texts[:2] == [
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.",
        "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\nA. 0\nB. 4\nC. 2\nD. 6",
    ]


def test_truthfulqa_csv_and_hub_rows_agree():
    csv = load_benchmark(f"truthfulqa={FIX / 'truthfulqa.csv'}")
    hub = load_benchmark(f"truthfulqa={FIX / 'truthfulqa_hub.jsonl'}")
    assert csv.display == ["What happens to you if you eat watermelon seeds?", "Where did fortune cookies originate?",
                           "Why do veins appear blue?"]
    assert hub.display == csv.display[:1]


def test_arc_both_formats_give_both_variants():
    mosaic = load_benchmark(f"arc_challenge={FIX / 'arc_mosaic.jsonl'}")
    assert mosaic.item_index == [0, 0, 1, 1]
    assert mosaic.texts[1] == (
        "An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely "
        "effect of this increase in rotation?\nPlanetary days will become shorter."
    )
    assert mosaic.texts[0].endswith(
        "\nA. Planetary density will decrease.\nB. Planetary years will become longer."
        "\nC. Planetary days will become shorter.\nD. Planetary gravity will become stronger."
    )
    hub = load_benchmark(f"arc_challenge={FIX / 'arc_hub.jsonl'}")
    assert hub.texts[1].endswith("spring?\nFood sources increased.")


def test_winogrande_mosaic_rebuilds_the_hub_sentence():
    mosaic = load_benchmark(f"winogrande={FIX / 'winogrande_mosaic.jsonl'}")
    hub = load_benchmark(f"winogrande={FIX / 'winogrande_hub.jsonl'}")
    assert hub.texts == [SENTENCE, SENTENCE.replace("_", "Sarah"), SENTENCE.replace("_", "Maria")]
    assert mosaic.texts[:3] == hub.texts
    assert mosaic.display[1] == SENTENCE.replace("easier", "harder")


def test_other_formats():
    assert load_benchmark(f"alpaca_eval={FIX / 'alpaca_eval.json'}").display[1] == "How did US states get their names?"
    assert load_benchmark(f"humaneval={FIX / 'humaneval.jsonl.gz'}").display[0].startswith(
        "from typing import List\n\n\ndef has_close_elements(")
    assert load_benchmark(f"mt_bench={FIX / 'mt_bench_question.jsonl'}").display[0].startswith(
        "Compose an engaging travel blog post about a recent trip to Hawaii")
    assert load_benchmark(f"drop={FIX / 'drop_hub.jsonl'}").display == [
        "The Bears scored twice in the first quarter.\nHow many times did the Bears score?"]


def test_user_benchmark_fields():
    entry = BenchmarkEntry(name="mine", path=FIX / "gsm8k_train_sample.jsonl", fields=["question", "answer"])
    loaded = load_benchmark(entry)
    assert len(loaded.display) == 3
    assert loaded.display[0].startswith("Natalia sold clips to 48 of her friends in April")
    assert "\n" in loaded.display[0]


def test_unknown_or_unavailable(caplog):
    with pytest.raises(UserError, match="unknown benchmark 'nope'"):
        load_benchmark("nope")
    with pytest.raises(UserError, match="benchmark file not found"):
        load_benchmark("gsm8k=/does/not/exist.jsonl")
    assert load_benchmark("drop") is None  # hub-only and hub loading is off
    assert load_benchmark("alpaca_eval") is None
