"""The n-gram detector and the ngram preset: each perturbation kind, clean look-alikes, removal records."""

import pickle
from pathlib import Path

import pytest

from bagel.decontam import DecontamOptions, Decontaminator
from bagel.decontam.ngram import NgramIndex, cached_index
from bagel.decontam.normalize import joined_words, words
from bagel.records import dpo, record, single_turn, text, to_table

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"
JANET = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her "
    "friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. "
    "How much in dollars does she make every day at the farmers' market?"
)
ARC_CHOICES = ["Planetary density will decrease.", "Planetary years will become longer.",
               "Planetary days will become shorter.", "Planetary gravity will become stronger."]
ARC_Q = ("An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely "
         "effect of this increase in rotation?")


@pytest.fixture(scope="module")
def decon():
    return Decontaminator(DecontamOptions(preset="ngram", benchmarks=["gsm8k", "truthfulqa", "arc_challenge"]))


def test_normalize():
    assert words("Janet’s  DUCKS_lay (16) eggs!") == ["janets", "ducks", "lay", "16", "eggs"]
    assert words("ﬁne  Café,\tdon't") == ["fine", "café", "dont"]
    texts = ["Janet’s ducks", "A b\ue000c", ""]
    joined, order = joined_words(texts)
    assert order == [1, 2, 0]
    assert joined == ["a", "b", "c", "\ue000", "\ue000", "janets", "ducks", "\ue000"]


def test_short_items_rule():
    index = NgramIndex(["Who are you?", "Where did fortune cookies originate?", " ".join(f"w{i}" for i in range(10))],
                       n=8, min_words=5, short_slack=3)
    scores, variants = index.score([
        "who are you", "Hello, who are you? Tell me about your life and your job please.",
        "Tell me: where did fortune cookies originate? I would love a long story about it.",
        "w0 w1 w2 w3 w4 w5 w6 w7 w8 x", "nothing at all",
    ])
    assert scores.tolist() == [1.0, 0.0, 1.0, pytest.approx(2 / 3), 0.0]
    assert variants.tolist() == [0, -1, 1, 2, -1]


PERTURBED = {
    "verbatim": JANET,
    "case_space_punct": "  " + JANET.upper().replace(" ", "   ").replace("?", " ").replace(".", " . "),
    "prefix": "Answer the following question:\n" + JANET,
    "suffix": JANET + "\nThink step by step.",
    "inside_longer_prompt": "My homework, which I could not solve, is below.\n\n" + JANET + "\n\nShow all steps.",
    "words_changed": JANET.replace("muffins", "cakes").replace("daily for", "for daily"),
    "mc_relettered": ARC_Q + "\n" + "\n".join(f"({i}) {c}" for i, c in enumerate(reversed(ARC_CHOICES), 1)),
}


@pytest.mark.parametrize("kind", sorted(PERTURBED))
def test_each_perturbation_is_caught(decon, kind):
    kept, removals = decon.filter_batch(to_table([single_turn(PERTURBED[kind], "ok")]))
    assert kept.num_rows == 0
    assert len(removals) == 1 and removals[0]["detector"] == "ngram"
    assert removals[0]["benchmark"] == ("arc_challenge" if kind.startswith("mc") else "gsm8k")


def test_clean_lookalikes_and_text_rows_kept(decon):
    train = [line for line in (FIX / "gsm8k_train_sample.jsonl").read_text().splitlines()]
    import json

    rows = [single_turn(json.loads(line)["question"], "x") for line in train]
    rows.append(text(JANET))  # text rows are not checked
    kept, removals = decon.filter_batch(to_table(rows))
    assert (kept.num_rows, removals) == (4, [])


def test_removal_record_and_kinds(decon):
    multi = record("sft", id="m1", source="chat", conversations=[
        {"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi there, how are you today?"},
        {"from": "gpt", "value": "Fine."}, {"from": "user", "value": JANET}, {"from": "gpt", "value": "18"}])
    pair = dpo("Why do veins appear blue?", "a", "b")
    pair["source"] = "truthy-dpo"
    kept, removals = decon.filter_batch(to_table([multi, pair, single_turn("Write a poem about ducks.", "...")]))
    assert kept.column("conversations")[0].as_py()[0]["value"] == "Write a poem about ducks."
    assert removals == [
        {"id": "m1", "source": "chat", "benchmark": "gsm8k", "item_index": 0, "item_text": JANET,
         "train_text": "Hi there, how are you today?\n" + JANET, "detector": "ngram", "score": 1.0,
         "span": " ".join(words(JANET)), "span_words": 52, "benchmark_items": 1319},
        {"id": pair["id"], "source": "truthy-dpo", "benchmark": "truthfulqa", "item_index": 2,
         "item_text": "Why do veins appear blue?", "train_text": "Why do veins appear blue?", "detector": "ngram",
         "score": 1.0, "span": "why do veins appear blue", "span_words": 5, "benchmark_items": 817},
    ]


def test_picklable_and_record_batch_input(decon):
    copy = pickle.loads(pickle.dumps(decon))
    batch = to_table([single_turn(JANET, "18"), single_turn("hello", "hi")]).to_batches()[0]
    kept, removals = copy.filter_batch(batch)
    assert (kept.num_rows, [r["item_index"] for r in removals]) == (1, [0])


def test_short_variant_of_a_long_item_needs_a_short_text():
    stem = "The real interest rate is"
    index = NgramIndex([stem, stem + "\nA. one two three\nB. four five six"], n=8, items=[0, 0])
    scores, _ = index.score([stem + " what?", "In this long passage about money, " + stem + " rising fast, they say."])
    assert scores.tolist() == [1.0, 0.0]


def test_empty_batch_and_disabled(decon):
    kept, removals = decon.filter_batch(to_table([]))
    assert (kept.num_rows, removals) == (0, [])
    off = Decontaminator(DecontamOptions(enabled=False))
    table = to_table([single_turn(JANET, "18")])
    assert off.filter_batch(table) == (table, [])


def test_index_cached_on_disk_and_memory_mapped(tmp_path):
    texts = ["Who are you?", JANET, ARC_Q, ARC_Q + "\n" + "\n".join(ARC_CHOICES)]
    items = [0, 1, 2, 2]
    built = cached_index(texts, items, 8, 5, 8, tmp_path)
    assert [p.name.startswith("ngram-") for p in tmp_path.iterdir()] == [True]
    loaded = cached_index(texts, items, 8, 5, 8, tmp_path)
    assert not loaded.filter.flags.writeable and loaded.vocab == built.vocab
    queries = ["who are you", "Tell me about it. " + JANET.replace("muffins", "cakes"), ARC_Q.upper(), "nothing"]
    for index in (built, loaded):
        scores, variants = index.score(queries)
        assert variants.tolist() == [0, 1, 2, -1]
        assert scores.tolist() == [1.0, pytest.approx(37 / 45), 1.0, 0.0]  # 45 grams, 8 hold the changed word
        assert (index.word_overlap(ARC_Q, 2), index.word_overlap("nothing here", 2)) == (1.0, 0.0)
    assert len(list(tmp_path.iterdir())) == 1
    other = cached_index(texts, items, 7, 5, 8, tmp_path)  # other options: another entry
    assert other.n == 7 and len(list(tmp_path.iterdir())) == 2
