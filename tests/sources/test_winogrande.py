from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import single_turn
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "winogrande.parquet"


def test_answer_1_is_option1_else_option2():
    recs, counts = convert_file(registry()["winogrande"], FIXTURE)
    assert recs == [
        {
            **single_turn("Sarah was a much better surgeon than Maria so _ always got the easier cases.", "Maria"),
            "source": "winogrande",
            "confidence": 3,
        },
        {
            **single_turn("Sarah was a much better surgeon than Maria so _ always got the harder cases.", "Sarah"),
            "source": "winogrande",
            "confidence": 3,
        },
    ]
    assert counts == {"in": 3, "kept": 2, "malformed:instruction_or_output_not_string": 1}


def test_declaration():
    source = registry()["winogrande"]
    assert (source.hub_id, source.hub_config, source.split) == ("allenai/winogrande", "winogrande_xl", "train")
    assert (source.confidence, source.sample) == (3, Sample(10_000))
