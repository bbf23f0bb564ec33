from pathlib import Path

from bagel.pipeline.convert import STRATUM, convert_file
from bagel.records import make_id, record
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "belebele.jsonl"
PASSAGE = (
    "Make sure your hand is as relaxed as possible while still hitting all the notes correctly - also try not to "
    "make much extraneous motion with your fingers. This way, you will tire yourself out as little as possible. "
    "Remember there's no need to hit the keys with a lot of force for extra volume like on the piano. On the "
    "accordion, to get extra volume, you use the bellows with more pressure or speed."
)


def row(question, answer):
    instruction = PASSAGE + "\n" + question
    turns = [{"from": "human", "value": instruction}, {"from": "gpt", "value": answer}]
    rec = record("sft", id=make_id(instruction), source="belebele", confidence=2, conversations=turns)
    return {**rec, STRATUM: "eng_Latn"}


def test_passage_question_answer_text_and_stratum():
    recs, counts = convert_file(registry()["belebele"], FIXTURE)
    assert recs == [
        row(
            "According to the passage, what would not be considered an accurate tip for successfully playing the accordion?",
            "For additional volume, increase the force with which you hit the keys",
        ),
        row("When playing the accordion, which of the following will help to increase the volume?", "More speed"),
    ]
    assert counts == {"in": 3, "kept": 2, "malformed:missing_field:correct_answer_num": 1}


def test_every_language_file_300_each():
    source = registry()["belebele"]
    assert (source.hub_id, source.split, source.data_files, source.sample) == (
        "facebook/belebele", "train", ("data/*.jsonl",), Sample(300, stratify="each"))
