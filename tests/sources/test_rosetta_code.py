from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import single_turn
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "rosetta_code.parquet"
DOORS = "There are 100 doors in a row that are all initially closed. Toggle them in 100 passes."


def test_language_prefix_and_humaneval_filter():
    recs, counts = convert_file(registry()["rosetta_code"], FIXTURE)
    python = "doors = [False] * 100\nfor i in range(100):\n    doors[i::i + 1] = [not d for d in doors[i::i + 1]]\n"
    eleven = "V doors = [0B] * 100\nL(i) 100\n   L(j) (i .< 100).step(i + 1)\n      doors[j] = !doors[j]\n"
    assert recs == [
        {
            **single_turn(f"Create a solution in Python to the following:\n{DOORS}", python),
            "source": "rosetta_code",
            "confidence": 2,
        },
        {
            **single_turn(f"Create a solution in 11l to the following:\n{DOORS}", eleven),
            "source": "rosetta_code",
            "confidence": 2,
        },
    ]
    assert counts == {"in": 4, "kept": 2, "humaneval_solution": 1, "malformed:wrong_type": 1}


def test_declaration():
    source = registry()["rosetta_code"]
    assert (source.hub_id, source.split, source.confidence) == ("cakiki/rosetta-code", "train", 2)
    assert source.sample == Sample(25_000)
