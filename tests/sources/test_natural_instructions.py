import json
from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import STRATUM, single_turn
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "natural_instructions.jsonl"
EDIBLE = (
    "In this task, you are given an item and you need to check whether it is edible or not, "
    "return 1 if it is edible, else return 2."
)
ODD = (
    "Given a set of five words, generate the word from the set that does not belong (i.e. is the least relevant) "
    "with the other words. Words are separated by commas."
)


def expected(instruction, output, task):
    return {**single_turn(instruction, output), "source": "natural_instructions", "confidence": 1, STRATUM: task}


def test_definition_newline_inputs_answered_by_targets():
    recs, counts = convert_file(registry()["natural_instructions"], FIXTURE)
    assert recs[:3] == [
        expected(EDIBLE + "\nsink", "2", "task1149_item_check_edible"),
        expected(EDIBLE + "\ncat", "2", "task1149_item_check_edible"),
        expected(
            ODD + "\nwaste away, dumpling, misuse, fritter, waste",
            "dumpling",
            "task142_odd-man-out_classification_no_category",
        ),
    ]
    assert recs[3]["conversations"][1] == {"from": "gpt", "value": "muhammad ali"}
    assert recs[3][STRATUM] == "task307_jeopardy_answer_generation_final"
    assert counts == {"in": 5, "kept": 4, "malformed:missing_field:inputs": 1}


def test_declaration():
    source = registry()["natural_instructions"]
    assert (source.hub_id, source.split, source.confidence) == ("Muennighoff/natural-instructions", "train", 1)
    assert source.sample == Sample(50_000, stratify="proportional")


TASKS = Path(__file__).parents[1] / "fixtures" / "sources" / "natural_instructions_tasks"
RELIGION = (
    "Given two sentences regarding the stereotypes of religions, determine whether the second sentence is either a "
    "stereotype, anti-stereotype, or is unrelated with respect to the first sentence and the target. A stereotype is "
    "a widely held but oversimplified notion of a group of people. An anti-stereotype is an idea that goes against "
    "the widely held but oversimplified notion of a group of people. Sentences and targets are unrelated if there "
    "is no relevance between them."
)


def test_task_files_of_the_repository_layout():
    """allenai/natural-instructions task files: one JSON object per task, Definition a list or a string."""
    recs, counts = convert_file(registry()["natural_instructions"], TASKS)
    assert len(recs) == 119 + 3
    assert recs[:2] == [
        expected(EDIBLE + "\nsink", "2", "task1149_item_check_edible"),
        expected(EDIBLE + "\ncat", "2", "task1149_item_check_edible"),
    ]
    assert recs[119] == expected(
        RELIGION + "\nTarget: Brahmin \nBrahmins are highly respected in India. Poor people lack food.",
        "unrelated",
        "task321_stereoset_classification_religion",
    )
    assert counts == {"in": 2, "kept": 122}


def test_task_file_instance_without_output_is_one_malformed_instance(tmp_path):
    task = json.loads((TASKS / "task321_stereoset_classification_religion.json").read_text())
    task["Instances"][1]["output"] = []
    del task["Instances"][2]["input"]
    (tmp_path / "task321_x.json").write_text(json.dumps(task))
    recs, counts = convert_file(registry()["natural_instructions"], tmp_path / "task321_x.json")
    assert [r[STRATUM] for r in recs] == ["task321_x"]
    assert counts == {"in": 1, "kept": 1, "malformed:bad_value": 1, "malformed:missing_field:input": 1}
