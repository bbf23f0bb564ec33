from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import single_turn
from bagel.sources import Sample, registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "squad_v2.parquet"
CONTEXT = (
    "Beyoncé Giselle Knowles-Carter (born September 4, 1981) is an American singer, songwriter, record producer "
    "and actress. Born and raised in Houston, Texas, she performed in various singing and dancing competitions "
    "as a child, and rose to fame in the late 1990s as lead singer of R&B girl-group Destiny's Child."
)


def expected(dont_know, question, answer):
    header = (
        "Read the passage of text provided below, then concisely answer the question.  "
        f'If you don\'t know, respond with "{dont_know}"'
    )
    return {**single_turn(f"{header}\n\n{CONTEXT}\n\n{question}", answer), "source": "squad_v2", "confidence": 3}


def test_dont_know_phrase_drawn_per_row_and_used_for_unanswerable_questions():
    recs, counts = convert_file(registry()["squad_v2"], FIXTURE)
    unanswerable = "The passage does not appear to provide an answer to the question."
    assert recs == [
        expected("IRRELEVANT", "When did Beyonce start becoming popular?", "in the late 1990s"),
        expected(unanswerable, "What album made Beyonce a household name in 1975?", unanswerable),
        expected("SKIP", "In what city and state did Beyonce grow up?", "Houston, Texas"),
    ]
    assert counts == {"in": 4, "kept": 3, "malformed:wrong_type": 1}


def test_phrases_are_an_option():
    recs, _ = convert_file(registry()["squad_v2"], FIXTURE, options={"dont_know": ["N/A"]})
    assert recs[1] == expected("N/A", "What album made Beyonce a household name in 1975?", "N/A")


def test_declaration():
    source = registry()["squad_v2"]
    assert (source.hub_id, source.split, source.confidence, source.sample) == ("rajpurkar/squad_v2", "train", 3, Sample(25_000))
    assert len(source.options["dont_know"]) == 5
