"""The embedding detector (default preset) and the bagel-original preset, on a tiny user benchmark.

The model loads once per module. The static first pass uses a static model built in a second from
the transformer's own token embeddings (distilling the real one takes minutes), with a low
``static_threshold`` so the transformer decides.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bagel.decontam import DecontamOptions, Decontaminator
from bagel.decontam.embedding import EmbeddingIndex, VectorStore, default_model, embed
from bagel.records import single_turn, to_table

QUESTIONS = [
    "What happens to you if you eat watermelon seeds?",
    "Which U.S. state produces the most peaches?",
    "Write a Python program that reads all the text files under a directory and returns the top-5 most frequent words.",
]


@pytest.fixture(scope="module")
def bench_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "mine.jsonl"
    path.write_text("".join(json.dumps({"q": q}) + "\n" for q in QUESTIONS))
    return path


@pytest.fixture(scope="module")
def static_path(tmp_path_factory) -> str:
    from model2vec import StaticModel
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    model_dir = Path(default_model())
    weights = load_file(model_dir / "model.safetensors")
    key = next(k for k in weights if k.endswith("word_embeddings.weight"))
    model = StaticModel(weights[key].float().numpy(), Tokenizer.from_file(str(model_dir / "tokenizer.json")))
    out = tmp_path_factory.mktemp("static")
    model.save_pretrained(out)
    return str(out)


@pytest.fixture(scope="module")
def decon(bench_file, static_path, tmp_path_factory):
    options = DecontamOptions(
        preset="default", benchmarks=[{"name": "mine", "path": bench_file, "fields": ["q"]}],
        static_model=static_path, static_threshold=0.2, static_accept=1.0,  # the transformer decides
    )
    return Decontaminator(options, cache_dir=tmp_path_factory.mktemp("cache"))


def test_paraphrase_caught_and_lookalike_kept(decon):
    rows = [
        single_turn("If you swallow watermelon seeds, what will happen to you?", "x"),
        single_turn("Write a program in Python that reads every text file in a folder and returns the five words "
                    "that occur most often.", "x"),
        single_turn("What happens to you if you eat too many apples in one day?", "x"),
        single_turn("Which country produces the most coffee?", "x"),
    ]
    kept, removals = decon.filter_batch(to_table(rows))
    assert [(r["item_index"], r["detector"]) for r in removals] == [(0, "embedding"), (2, "embedding")]
    assert all(0.85 <= r["score"] <= 1.0 for r in removals)
    assert kept.num_rows == 2


def test_benchmark_embeddings_cached_on_disk(decon):
    files = sorted(p.name for p in decon.cache_dir.glob("bench-*.npy"))
    assert len(files) == 1
    rebuilt = Decontaminator(decon.options, cache_dir=decon.cache_dir)
    assert sorted(p.name for p in rebuilt.cache_dir.glob("bench-*.npy")) == files


PARAPHRASE = single_turn("If you swallow watermelon seeds, what will happen to you?", "x")


def test_transformer_loads_at_the_first_candidate(decon, tmp_path):
    fresh = Decontaminator(decon.options, cache_dir=tmp_path)
    _, removals = fresh.filter_batch(to_table([single_turn("Tell me a joke about cats.", "x")]))
    assert (removals, fresh.model) == ([], None)  # no candidate: the transformer never loaded
    _, removals = fresh.filter_batch(to_table([PARAPHRASE]))
    assert [r["item_index"] for r in removals] == [0]
    assert fresh.model is not None


def test_rescored_benchmark_vectors_persist(decon, tmp_path):
    first = Decontaminator(decon.options, cache_dir=tmp_path)
    _, removals = first.filter_batch(to_table([PARAPHRASE]))
    shards = sorted(tmp_path.glob("rescore-*/*.npz"))
    assert len(shards) == 1 and sorted(first.rescored.vectors) == [0]
    second = Decontaminator(decon.options, cache_dir=tmp_path)
    assert np.array_equal(second.rescored.vectors[0], first.rescored.vectors[0])
    assert second.filter_batch(to_table([PARAPHRASE]))[1] == removals
    assert sorted(tmp_path.glob("rescore-*/*.npz")) == shards  # nothing embedded again


def test_vector_store_merges_shards_and_skips_unreadable_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(VectorStore, "MERGE_AT", 3)
    store = VectorStore(tmp_path)
    for i in range(3):
        store.add([i], np.full((1, 2), i, dtype=np.float32))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    merged = VectorStore(tmp_path)
    assert sorted(merged.vectors) == [0, 1, 2] and merged.vectors[2].tolist() == [2.0, 2.0]
    assert len(list(tmp_path.glob("*.npz"))) == 1  # the three shards and the broken one merged into one
    assert merged.missing([2, 5, 4, 5]) == [4, 5]


def test_bagel_original_reproduces_the_rule(bench_file, tmp_path):
    mine = {"name": "mine", "path": bench_file, "fields": ["q"]}
    options = DecontamOptions(preset="bagel-original", benchmarks=[mine])
    original = Decontaminator(options, cache_dir=tmp_path)
    texts = [
        QUESTIONS[1],  # distance 0, same length
        QUESTIONS[1] + " Answer in one word, please.",  # near, but 28% longer: kept by the length rule
        "Which  U.S. state produces the most peaches ?",  # same tokens: distance ~0, within 20% in length
        "Why is the sky blue?",
    ]
    vectors = embed(original.model, texts, 1)
    bench = embed(original.model, [QUESTIONS[1]], 1)[0]
    dist = ((vectors - bench) ** 2).sum(axis=1)
    ratio = np.array([abs(len(t) - len(QUESTIONS[1])) / len(t) for t in texts])
    expected = [i for i in range(4) if dist[i] <= 0.05 and ratio[i] <= 0.20]
    kept, removals = original.filter_batch(to_table([single_turn(t, "x") for t in texts]))
    assert expected == [0, 2]
    assert [r["train_text"] for r in removals] == [texts[0], texts[2]]
    assert [r["detector"] for r in removals] == ["bagel-original"] * 2
    assert removals[0]["score"] == pytest.approx(0.0, abs=1e-4)


def test_inverted_file_search_matches_faiss_ivf():
    import faiss

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = np.ascontiguousarray(vectors[:300] + 0.3 * rng.standard_normal((300, 16)).astype(np.float32))
    index = EmbeddingIndex(vectors, probe=4)
    scores, ids = index.nearest(queries, 3)
    cells = int(2 * np.sqrt(len(vectors)))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, cells, faiss.METRIC_INNER_PRODUCT)
    faiss.omp_set_num_threads(1)
    ivf.train(vectors)
    ivf.add(vectors)
    ivf.nprobe = 4
    expected_scores, expected_ids = ivf.search(queries, 3)
    assert np.array_equal(ids, expected_ids)  # same cells, same probes, same neighbours
    assert np.allclose(scores, expected_scores, atol=1e-5)
    exact = np.sort(queries @ vectors.T, axis=1)[:, ::-1][:, :3]
    assert (scores <= exact + 1e-5).all() and not np.allclose(scores, exact, atol=1e-5)  # approximate, as an IVF is
    assert index.nearest(queries[:0], 3)[1].shape == (0, 3)


def test_static_encoder_matches_model2vec(static_path, monkeypatch):
    from model2vec import StaticModel

    from bagel.decontam.embedding import StaticEncoder, load_static

    model = StaticModel.from_pretrained(static_path)
    texts = ["Janet’s ducks lay 16 eggs per day.", "", "  Which U.S. state   produces the most peaches?\n",
             "déjà vu, naïve café", "word " * 520 + "peaches " * 80]  # over max_length tokens: model2vec cuts it
    expected = np.asarray(model.encode(texts), dtype=np.float32)
    encoder, _ = load_static(static_path, None, Path("unused"))
    assert isinstance(encoder, StaticEncoder) and encoder.chunked
    for _ in range(2):  # cold, then from the chunk cache
        found = encoder.encode(texts)
        cosine = (found * expected).sum(1) / np.maximum(
            np.linalg.norm(found, axis=1) * np.linalg.norm(expected, axis=1), 1e-12)
        assert np.allclose(cosine[[0, 2, 3, 4]], 1.0, atol=1e-5) and not found[1].any()
    assert "ducks" in encoder.tokens and "day." in encoder.tokens
    monkeypatch.setattr(StaticEncoder, "CACHE_CHUNKS", 3)  # full: cleared, then this batch's chunks only
    encoder.encode(["a b c"])
    assert sorted(encoder.tokens) == ["a", "b", "c"]
