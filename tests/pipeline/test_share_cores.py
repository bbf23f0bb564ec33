"""Each build process gets its share of the cores for native thread pools, and gives it back."""

from __future__ import annotations

import os

import faiss
import pytest

from bagel.pipeline import build


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    for name in build.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own setting comes back afterwards


def test_two_workers_on_four_cores_get_two_threads_each_and_the_settings_come_back(four_cores):
    faiss.omp_set_num_threads(4)
    restore = build.share_cores(2)
    assert [os.environ[name] for name in build.THREAD_VARIABLES] == ["2", "2", "2", "2"]
    assert faiss.omp_get_max_threads() == 2
    restore()
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert all(name not in os.environ for name in build.THREAD_VARIABLES[1:])
    assert faiss.omp_get_max_threads() == 4


def test_more_workers_than_cores_still_get_one_thread(four_cores):
    restore = build.share_cores(8)
    try:
        assert os.environ["RAYON_NUM_THREADS"] == "1"
        assert faiss.omp_get_max_threads() == 1
    finally:
        restore()
