from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "boolq.parquet"
HEADER = "Read the passage of text provided below, then answer the question.\n\n"


def test_passage_question_and_lowercase_answer():
    recs, counts = convert_file(registry()["boolq"], FIXTURE)
    assert counts == {"in": 3, "kept": 2, "malformed:wrong_type": 1}
    first, second = (rec["conversations"] for rec in recs)
    assert first[0]["value"].startswith(HEADER + "All biomass goes through at least some of these steps")
    assert first[0]["value"].endswith("than producing gasoline.\n\nTrue or false - does ethanol take more energy make that produces")
    assert first[1] == {"from": "gpt", "value": "false"}
    assert second[0]["value"].endswith("\n\nTrue or false - is house tax and property tax are same")
    assert second[1] == {"from": "gpt", "value": "true"}
    assert recs[0]["id"] == "5dac1d42-bb43-504f-940c-8b31e8d1abae"  # uuid5 of the whole human turn
