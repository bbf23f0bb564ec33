"""End to end through lm-evaluation-harness, offline, on a tiny random model: one log-likelihood task
(arc_challenge) and one generate-until task with exact match (gsm8k), a full model dir and an adapter dir."""

from __future__ import annotations

import json

import pytest

from bagel.formats import render_prompt
from bagel.train.models import load_tokenizer

LIMIT = 2


@pytest.fixture(scope="session")
def vicuna_run(trained_dir):
    """arc_challenge + gsm8k on the trained dir, in the format it was trained to chat in (vicuna)."""
    from bagel.eval.run import EvalOptions, run_eval

    return run_eval(EvalOptions(model=str(trained_dir), tasks=["arc_challenge", "gsm8k"], limit=LIMIT,
                                max_gen_toks=4, device="cpu", bootstrap_iters=0))


def _expected_prompt(model_dir, fmt: str, user: str) -> str:
    """The prompt bagel's own renderer makes for one user turn (the training rows' text)."""
    tokenizer = load_tokenizer(str(model_dir))
    return render_prompt([{"from": "human", "value": user}], fmt, bos=tokenizer.bos_token, eos=tokenizer.eos_token)


def test_metrics_are_numbers_in_unit_interval(vicuna_run):
    metrics = vicuna_run["results"]
    assert set(metrics) == {"arc_challenge", "gsm8k"}
    expected = {"arc_challenge": {"acc,none", "acc_norm,none"},
                "gsm8k": {"exact_match,strict-match", "exact_match,flexible-extract"}}
    for task, names in expected.items():
        for name in names:
            value = metrics[task][name]
            assert isinstance(value, float) and 0.0 <= value <= 1.0, (task, name, value)
        assert metrics[task]["sample_len"] == LIMIT


def test_loglikelihood_prompt_is_the_trained_format(vicuna_run, trained_dir):
    sample = vicuna_run["samples"]["arc_challenge"][0]
    question = sample["doc"]["question"]
    context = _expected_prompt(trained_dir, "vicuna", f"Question: {question}\nAnswer:")
    assert context.startswith("USER: Question: ") and context.endswith("\nASSISTANT: ")
    choices = sample["doc"]["choices"]["text"]
    assert [tuple(args) for args in sample["arguments"]] == [(context, choice) for choice in choices]


def test_generate_until_prompt_is_the_trained_format(vicuna_run, trained_dir):
    sample = vicuna_run["samples"]["gsm8k"][0]
    context, generation = sample["arguments"][0]
    assert context == _expected_prompt(trained_dir, "vicuna", (
        "Given the following problem, reason and give a final answer to the problem.\n"
        f"Problem: {sample['doc']['question']}\nYour response should end with \"The final answer is [answer]\" "
        "where [answer] is the response to the problem.\n"))
    assert generation["max_gen_toks"] == 4 and "USER:" in generation["until"]
    assert sample["target"] == sample["doc"]["answer"].split("####")[-1].strip()


def test_run_records_model_format_and_sources(vicuna_run, trained_dir):
    info = vicuna_run["bagel"]
    assert info["model"] == str(trained_dir) and info["adapter"] is None and info["format"] == "vicuna"
    assert info["chat_template"] == (trained_dir / "chat_templates" / "vicuna.jinja").read_text()
    assert info["task_sources"] == {"arc_challenge": "bundled arc_challenge_test.jsonl.gz (1172 rows)",
                                    "gsm8k": "bundled gsm8k_test.jsonl.gz (1319 rows)"}
    assert info["limit"] == LIMIT and info["seed"] == 42 and info["skipped"] == {}
    assert {"bagel", "lm_eval", "transformers", "torch"} <= set(info["versions"])


def test_results_file_and_page(vicuna_run, tmp_path):
    from bagel.eval.page import write_eval_html
    from bagel.eval.results import load_results, write_results

    path = write_results(vicuna_run, tmp_path, log_samples=True)
    saved = load_results(path)
    assert "samples" not in saved and saved["results"]["gsm8k"] == vicuna_run["results"]["gsm8k"]
    assert saved["bagel"]["format"] == "vicuna"
    lines = (tmp_path / "samples" / "arc_challenge.jsonl").read_text().splitlines()
    assert len(lines) == LIMIT and json.loads(lines[0])["arguments"][0][0].startswith("USER: ")
    page = write_eval_html([path], tmp_path / "eval.html").read_text()
    assert "exact_match" in page and "flexible-extract" in page


def test_adapter_dir_in_another_format(adapter_dir, trained_dir, vicuna_run):
    from bagel.eval.run import EvalOptions, run_eval

    run = run_eval(EvalOptions(model=str(adapter_dir), tasks=["arc_challenge"], limit=1, fmt="chatml",
                               device="cpu", bootstrap_iters=0))
    info = run["bagel"]
    assert info["adapter"] == str(adapter_dir) and info["base_model"] == str(trained_dir)
    assert "peft_sha" in run["config"]  # lm-eval loaded the adapter (HFLM's peft=) on the base model
    assert run["config"]["model_num_parameters"] > vicuna_run["config"]["model_num_parameters"]
    sample = run["samples"]["arc_challenge"][0]
    context = _expected_prompt(adapter_dir, "chatml", f"Question: {sample['doc']['question']}\nAnswer:")
    assert context.endswith("assistant\n") and sample["arguments"][0][0] == context
    assert 0.0 <= run["results"]["arc_challenge"]["acc,none"] <= 1.0
