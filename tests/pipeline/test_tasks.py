"""The units' per-process resources and the order a parallel build runs its units in."""

from pathlib import Path

from bagel.config import load_recipe
from bagel.pipeline import tasks
from bagel.pipeline.steps import dedup_step

from tests.pipeline.helpers import qa, write_jsonl, write_recipe

ROOT = Path(__file__).resolve().parents[2]


def test_a_process_holds_the_resources_of_one_step_at_a_time(monkeypatch):
    monkeypatch.setattr(tasks, "_PROCESS_CACHE", {})
    trims, built = [], []
    monkeypatch.setattr(tasks, "trim_heap", lambda now=False: trims.append(now))

    def build(value):
        return lambda: built.append(value) or value

    assert tasks._once("decontam", "d", build("d1")) == "d1"
    assert tasks._once("decontam", "d", build("d2")) == "d1"  # built once
    assert tasks._once("render", "r", build("r1")) == "r1"  # the decontaminator is dropped
    assert tasks._once("render", "t", build("t1")) == "t1"  # a step may hold several
    assert list(tasks._PROCESS_CACHE) == [("render", "r"), ("render", "t")]
    assert tasks._once("decontam", "d", build("d3")) == "d3"  # built again when asked again
    assert built == ["d1", "r1", "t1", "d3"]
    assert trims == [True, True]  # the heap is trimmed after each drop


def test_a_parallel_build_builds_the_benchmark_index_before_converting(tmp_path, monkeypatch):
    gsm8k = ROOT / "tests" / "fixtures" / "benchmarks" / "gsm8k_test.jsonl"
    write_jsonl(tmp_path / "a.jsonl", [qa("Name three primes.", "2, 3, 5"), qa("Why is the sky blue?", "..")])
    recipe = load_recipe(write_recipe(tmp_path / "r.yaml", [{"name": "a", "shape": "instruction",
                                                             "path": "a.jsonl", "confidence": 3}],
                                      decontamination={"preset": "ngram", "benchmarks": [f"gsm8k={gsm8k}"]}))
    monkeypatch.setattr(tasks, "_PROCESS_CACHE", {})
    ran = []

    def run(fn, args):
        ran.append(fn.__name__)
        return [fn(*a) for a in args]

    root = tmp_path / "out" / "cache"
    tasks.run_steps(recipe, ["a"], root, run, lambda ordered: dedup_step(recipe, ordered, root, 1 << 20),
                    parallel=True)
    assert ran == ["index_task", "convert_task", "prepare_task", "trim_task", "decontam_task",
                   "join_decontam_task", "mix_task", "render_task"]
    assert len(list((root / "benchmarks").glob("ngram-*/meta.json"))) == 1
