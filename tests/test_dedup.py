"""The seen-set: priority semantics per policy, and spilling to disk under a tiny memory budget."""

import numpy as np

from bagel.dedup import SeenSet


def test_check_add_drops_seen_and_repeats():
    seen = SeenSet()
    assert seen.filter(["a", "b", "a"], check=True, add=True).tolist() == [True, True, False]
    assert seen.filter(["b", "c"], check=True, add=True).tolist() == [False, True]
    assert len(seen) == 3


def test_add_only_keeps_everything_but_is_remembered():
    seen = SeenSet()
    assert seen.filter(["x", "x"], check=False, add=True).tolist() == [True, True]
    assert seen.filter(["x", "y"], check=True, add=True).tolist() == [False, True]


def test_spill_keeps_exact_answers(tmp_path):
    seen = SeenSet(memory_budget=1024, spill_dir=tmp_path)
    ids = [f"id-{i}" for i in range(200_000)]
    for start in range(0, len(ids), 5_000):
        keep = seen.filter(ids[start : start + 5_000], check=True, add=True)
        assert keep.all()
    assert len(seen.spilled) >= 2  # really went to disk
    assert list(tmp_path.glob("run-*.npy"))
    again = seen.filter(ids[::997] + ["new-1", "new-2"], check=True, add=True)
    assert again.tolist() == [False] * len(ids[::997]) + [True, True]
    assert len(seen) == 200_002
    assert isinstance(seen.spilled[0], np.memmap)


def test_sorted_runs_with_payloads_answer_the_smallest_across_runs_and_spills(tmp_path, monkeypatch):
    from bagel import dedup
    from bagel.dedup import SortedRuns

    monkeypatch.setattr(dedup, "_LEVEL0_MAX", 4)  # a new run every 4 keys, merged by size, spilled past 64 bytes
    runs = SortedRuns(memory_budget=64, spill_dir=tmp_path, payload=True)
    keys = np.array([5, 1, 9, 5, 7, 1, 3, 11, 5, 2, 8, 6], dtype=np.uint64)
    for start in range(0, len(keys), 2):
        runs.add(keys[start: start + 2], np.arange(start, start + 2) + 100)
    assert runs.spilled and runs.spilled_payloads
    found, values = runs.lookup(np.array([5, 1, 4, 6, 11], dtype=np.uint64))
    assert found.tolist() == [True, True, False, True, True]
    assert values.tolist() == [100, 101, -1, 111, 107]  # 5 was added under 100, 103 and 108: the smallest wins
