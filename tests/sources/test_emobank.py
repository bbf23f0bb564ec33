import dataclasses
from pathlib import Path

import pytest

from bagel.errors import UserError
from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "emobank.csv"
PREFIX = "Please assign a Valence-Arousal-Dominance (VAD) score in JSON format to the following message:\n"


def row(csv_id, text, vad):
    turns = [{"from": "human", "value": PREFIX + text}, {"from": "gpt", "value": vad}]
    return record("sft", id=make_id(csv_id), source="emobank", confidence=3, conversations=turns)


def test_train_rows_with_vad_json_and_csv_id():
    recs, counts = convert_file(registry()["emobank"], FIXTURE)
    assert recs == [
        row("110CYL068_1036_1079", "Remember what she said in my last letter?", '{\n  "V": "3.0",\n  "A": "3.0",\n  "D": "3.2"\n}'),
        row(
            "110CYL068_1137_1188",
            "Goodwill helps people get off of public assistance.",
            '{\n  "V": "3.44",\n  "A": "3.0",\n  "D": "3.22"\n}',
        ),
    ]
    assert counts == {"in": 4, "kept": 2, "other_split": 1, "malformed:wrong_type": 1}


def test_fetch_without_network_is_a_user_error():
    source = registry()["emobank"]
    offline = {**source.options, "url": "http://127.0.0.1:9/emobank.csv"}
    with pytest.raises(UserError, match="could not download"):
        next(source.fetch(dataclasses.replace(source, options=offline)))
