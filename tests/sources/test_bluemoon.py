from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "bluemoon.json"


def test_sharegpt_kept_with_id_from_row_id():
    recs, counts = convert_file(registry()["bluemoon"], FIXTURE)
    assert [rec["id"] for rec in recs] == [make_id("0"), make_id("17")]
    assert recs[1]["conversations"] == [
        {"from": "human", "value": "The ship lurched."},
        {"from": "gpt", "value": "She grabbed the rail."},
        {"from": "human", "value": '"Hold on!" he shouted.'},
        {"from": "gpt", "value": '"I am!"'},
    ]
    assert {rec["source"] for rec in recs} == {"bluemoon"}
    assert counts == {"in": 3, "kept": 2, "malformed:missing_field:conversations": 1}
    assert registry()["bluemoon"].dedup == "none"
