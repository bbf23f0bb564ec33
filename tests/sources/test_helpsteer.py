from pathlib import Path

import pytest

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import Skip, registry
from bagel.sources.helpsteer import select_pair

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "helpsteer.jsonl"


def pair(prompt, chosen, rejected):
    return record(
        "dpo", id=make_id(prompt), source="helpsteer", confidence=2, prompt=prompt, chosen=chosen, rejected=rejected
    )


def test_best_and_worse_selection_per_prompt():
    recs, counts = convert_file(registry()["helpsteer"], FIXTURE)
    assert recs == [
        # a later correctness-4 answer with a higher score replaces the chosen one, which becomes rejected
        pair(
            "Describe a cat.", "Cats are small, furry, agile carnivores kept as pets.", "A cat is a small furry mammal."
        ),
        # rejected is the first answer with another correctness, even with a higher score
        pair("Name a river.", "The Nile.", "The Amazon is a very long river in South America."),
        # the refused correctness-4 answer is dropped before grouping
        pair("Name a color.", "Red.", "Loud."),
    ]
    assert counts == {
        "in": 17,
        "kept": 3,
        "refusal:language model": 1,
        "malformed:missing_field:verbosity": 1,
        "no_rejected": 1,  # Name a tree: two correctness-4 answers, the second scores lower
        "no_chosen": 1,  # Name a bird
        "too_few_responses": 1,  # Name a fruit
        "dpo:identical": 1,  # Say hi
    }


def test_walk_ends_at_the_first_replacement():
    responses = [
        {"response": "a", "correctness": 4, "score": 10},
        {"response": "b", "correctness": 4, "score": 11},
        {"response": "c", "correctness": 4, "score": 20},
    ]
    assert select_pair(responses, 4) == ("b", "a")
    with pytest.raises(Skip, match="no_chosen"):
        select_pair(responses, 3)


def test_declaration():
    source = registry()["helpsteer"]
    assert (source.hub_id, source.split, source.kind, source.confidence) == ("nvidia/HelpSteer", "train", "dpo", 2)
    assert (source.dedup, source.refusal, source.refusal_stage, source.sample) == ("check_add", "responses", "rows", None)
    assert source.options == {"min_responses": 2, "chosen_correctness": 4}
