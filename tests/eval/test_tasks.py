"""The eval task registry: converters, task selection, and every config loaded by lm-eval itself."""

from __future__ import annotations

import json

import pytest

from bagel.benchmarks.files import read_rows
from bagel.benchmarks.registry import REGISTRY, bundled_path
from bagel.errors import UserError
from bagel.eval.functions import build_programs, pass_at_k
from bagel.eval.taskfiles import select_tasks
from bagel.eval.tasks import EVAL_TASKS

DROP_ROW = {"section_id": "nfl_1", "query_id": "q1", "passage": "Tom had 3 apples and ate one.",
            "question": "How many apples are left?", "answers_spans": {"spans": ["2"], "types": ["number"]}}


def first_bundled(name: str) -> dict:
    return read_rows(bundled_path(REGISTRY[name]))[0]


def test_bundled_rows_convert_to_the_hub_schema():
    arc = EVAL_TASKS["arc_challenge"].convert(first_bundled("arc_challenge"))
    assert arc["question"].startswith("An astronomer observes") and arc["answerKey"] == "C"
    assert arc["choices"]["label"] == ["A", "B", "C", "D"]
    assert arc["choices"]["text"][2] == "Planetary days will become shorter."
    mmlu = EVAL_TASKS["mmlu"].convert(first_bundled("mmlu"))
    assert mmlu["choices"] == ["0", "4", "2", "6"] and mmlu["answer"] == 1 and mmlu["subject"] == "abstract_algebra"
    tqa = EVAL_TASKS["truthfulqa"].convert(first_bundled("truthfulqa"))
    assert tqa["question"] == "What happens to you if you eat watermelon seeds?"
    assert tqa["mc2_targets"]["choices"][:2] == ["Nothing happens", "You eat watermelon seeds"]
    assert tqa["mc2_targets"]["labels"] == [1] * 5 + [0] * 7
    wino = EVAL_TASKS["winogrande"].convert(first_bundled("winogrande"))
    assert wino == {"contexts": ["Sarah was a much better surgeon than Maria so Sarah",
                                 "Sarah was a much better surgeon than Maria so Maria"],
                    "continuation": "always got the easier cases.", "gold": 1}
    humaneval = EVAL_TASKS["humaneval"].convert(first_bundled("humaneval"))
    assert humaneval["entry_point"] == "has_close_elements"
    assert humaneval["answer_start"].startswith("from typing import List\n\ndef has_close_elements")


def test_hub_rows_convert_the_same_way():
    arc = EVAL_TASKS["arc_challenge"].convert(
        {"id": "x", "question": "Q?", "choices": {"text": ["a", "b"], "label": ["1", "2"]}, "answerKey": "2"})
    assert arc == {"question": "Q?", "choices": {"text": ["a", "b"], "label": ["1", "2"]}, "answerKey": "2"}
    wino = EVAL_TASKS["winogrande"].convert({"sentence": "Sam beat Al because _ was fast.", "option1": "Sam",
                                             "option2": "Al", "answer": "1"})
    assert wino == {"contexts": ["Sam beat Al because Sam", "Sam beat Al because Al"], "continuation": "was fast.",
                    "gold": 0}
    tqa = EVAL_TASKS["truthfulqa"].convert({"question": "Q?", "best_answer": "t1", "correct_answers": ["t1", "t2"],
                                            "incorrect_answers": ["f1"]})
    assert tqa["mc2_targets"] == {"choices": ["t1", "t2", "f1"], "labels": [1, 1, 0]}
    assert EVAL_TASKS["drop"].convert(DROP_ROW)["answers"] == [["2"]]
    assert EVAL_TASKS["mmlu"].convert({"question": "Q", "choices": list("wxyz"), "answer": "C"})["answer"] == 2


def test_selection_errors_and_skips(tmp_path):
    with pytest.raises(UserError, match=r"drop: no bundled copy.*--tasks drop=PATH"):
        select_tasks(["drop"], tmp_path)
    with pytest.raises(UserError, match=r"mt_bench is not an lm-eval task: use `bagel eval --generate mt_bench"):
        select_tasks(["mt_bench"], tmp_path)
    with pytest.raises(UserError, match=r"unknown eval task 'hellaswag'.*--use-hub"):
        select_tasks(["hellaswag"], tmp_path)
    selection = select_tasks(["gsm8k", "humaneval"], tmp_path)
    assert selection.tasks == ["gsm8k"] and list(selection.skipped) == ["humaneval"]
    assert "--allow-code-execution" in selection.skipped["humaneval"]
    assert not (tmp_path / "humaneval.yaml").exists() and (tmp_path / "gsm8k.yaml").is_file()
    with pytest.raises(UserError, match="no task left to run"):
        select_tasks(["humaneval"], tmp_path)
    hub = select_tasks(["truthfulqa", "humaneval", "hellaswag"], tmp_path / "hub", use_hub=True,
                       allow_code_execution=True)
    assert hub.tasks == ["truthfulqa_mc2", "humaneval_instruct", "hellaswag"]


def test_every_config_builds_chat_requests_in_lm_eval(tmp_path, trained_dir):
    from lm_eval.tasks import TaskManager

    from bagel.eval.model import resolve_model

    drop = tmp_path / "drop.jsonl"
    drop.write_text(json.dumps(DROP_ROW) + "\n")
    names = ["arc_challenge", "gsm8k", "mmlu", "truthfulqa", "winogrande", "humaneval", f"drop={drop}"]
    selection = select_tasks(names, tmp_path / "tasks", allow_code_execution=True)
    assert selection.sources["drop"] == f"{drop} (1 rows)"
    tokenizer = resolve_model(str(trained_dir), "llama2").tokenizer

    def template(history, add_generation_prompt=True):
        return tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=add_generation_prompt,
                                             continue_final_message=not add_generation_prompt)

    loaded = TaskManager(include_path=str(tmp_path / "tasks"), include_defaults=False).load(selection.tasks)
    assert set(loaded["tasks"]) == set(selection.tasks) == {
        "arc_challenge", "gsm8k", "mmlu", "truthfulqa_mc2", "winogrande", "humaneval", "drop"}
    for name, task in loaded["tasks"].items():
        task.build_all_requests(limit=1, rank=0, world_size=1, apply_chat_template=True, chat_template=template)
        context = task.instances[0].args[0]
        assert context.startswith("[INST] ") and "[/INST]" in context, name
    humaneval = loaded["tasks"]["humaneval"].instances[0].args[0]
    assert humaneval.endswith("[/INST]Here is the completed function:\n```python\nfrom typing import List\n\ndef "
                              + humaneval.split("\ndef ")[-1])


def test_humaneval_programs_run_in_lm_eval_sandbox():
    doc = EVAL_TASKS["humaneval"].convert(first_bundled("humaneval"))
    solution = first_bundled("humaneval")["canonical_solution"]
    programs = build_programs([[solution + "```\nThat is all.", "    return 'nonsense'\n"]], [doc])
    assert programs[0][0] == doc["prompt"] + solution + "\n\n" + doc["test"] + "\ncheck(has_close_elements)\n"
    assert pass_at_k([""], [programs[0][:1]], k=[1]) == {"pass@1": 1.0}
    assert pass_at_k([""], [programs[0][1:]], k=[1]) == {"pass@1": 0.0}
