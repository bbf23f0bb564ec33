from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import STRATUM, single_turn
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "mathinstruct.json"


def expected(instruction, output, stratum):
    return {**single_turn(instruction, output), "source": "mathinstruct", "confidence": 3, STRATUM: stratum}


def test_instruction_output_with_source_as_stratum():
    recs, counts = convert_file(registry()["mathinstruct"], FIXTURE)
    assert recs == [
        expected(
            "A train travels 60 km in 1.5 hours. What is its average speed?\nAnswer Choices: (A) 30 (B) 40 (C) 45",
            "Speed = 60 / 1.5 = 40 km/h.\nThe answer is B.",
            "data/CoT/aqua_rat.json",
        ),
        expected(
            "What is the sum of the first 10 positive integers? Let's write a program.",
            "print(sum(range(1, 11)))",
            "data/PoT/TheoremQA.json",
        ),
    ]
    assert counts == {"in": 3, "kept": 2, "malformed:instruction_or_output_not_string": 1}


def test_declaration():
    source = registry()["mathinstruct"]
    assert (source.hub_id, source.split, source.kind, source.confidence) == (
        "TIGER-Lab/MathInstruct",
        "train",
        "sft",
        3,
    )
    assert source.sample == Sample(50_000, stratify="proportional", stage="before_dedup")
