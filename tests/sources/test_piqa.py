from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import single_turn
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "piqa.jsonl"  # real validation rows
HINT = "\nOnly output the the letter of the correct answer."
GUINEA = (
    "How do I ready a guinea pig cage for it's new occupants?\n"
    "A. Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips, "
    "you will also need to supply it with a water bottle and a food dish.\n"
    "B. Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, "
    "you will also need to supply it with a water bottle and a food dish."
)
DRESSER = "dresser\nA. replace drawer with bobby pin \nB. finish, woodgrain with  bobby pin "


def piqa(instruction, answer):
    return {**single_turn(instruction, answer), "source": "piqa", "confidence": 3}


def test_letter_and_text_answers():
    recs, counts = convert_file(registry()["piqa"], FIXTURE, options={"letter_only_probability": 0.0})
    assert recs[:2] == [
        piqa(GUINEA, "A. " + GUINEA.split("\nA. ")[1].split("\nB. ")[0]),
        piqa(DRESSER, "B. finish, woodgrain with  bobby pin "),
    ]
    assert recs[0]["id"] == "d29ac848-d843-59a8-8569-810490c58def"
    assert counts == {"in": 4, "kept": 3, "malformed:missing_field:label": 1}


def test_letter_only_answers():
    recs, _ = convert_file(registry()["piqa"], FIXTURE, options={"letter_only_probability": 1.0})
    assert recs[:2] == [piqa(GUINEA + HINT, "A"), piqa(DRESSER + HINT, "B")]


def test_default_coin_is_per_goal():
    recs, _ = convert_file(registry()["piqa"], FIXTURE)
    assert [r["conversations"][1]["value"] for r in recs] == [
        "A. " + GUINEA.split("\nA. ")[1].split("\nB. ")[0],
        "B",
        "B. You have to defeat Apollo Creed and Clubber Lang first.",
    ]
