from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import single_turn
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "spider.parquet"  # real dev rows, hub shape (no `sql`)


def test_question_to_query():
    recs, counts = convert_file(registry()["spider"], FIXTURE)
    assert recs == [
        {
            **single_turn(
                "Write a SQL query for the following:\nHow many singers do we have?", "SELECT count(*) FROM singer"
            ),
            "source": "spider",
            "confidence": 1,
        },
        {
            **single_turn(
                "Write a SQL query for the following:\n"
                "Show name, country, age for all singers ordered by age from the oldest to the youngest.",
                "SELECT name ,  country ,  age FROM singer ORDER BY age DESC",
            ),
            "source": "spider",
            "confidence": 1,
        },
    ]
    assert recs[0]["id"] == "d860219c-f5e9-5b3f-b61d-f0b2f007bd23"
    assert counts == {"in": 3, "kept": 2, "malformed:instruction_or_output_not_string": 1}
