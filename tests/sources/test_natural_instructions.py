from pathlib import Path

from bagel.pipeline.convert import STRATUM, convert_file
from bagel.records import single_turn
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
