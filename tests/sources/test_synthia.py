from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import Sample, registry
from bagel.sources.synthia import split_turns

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "synthia.jsonl"


def chat(key, *turns):
    conversations = [{"from": role, "value": value} for role, value in turns]
    system = turns[0][1] if turns[0][0] == "system" else None
    return record("sft", id=make_id(key), source="synthia", confidence=1, conversations=conversations, system=system)


def test_system_single_and_multi_turn_items():
    recs, counts = convert_file(registry()["synthia"], FIXTURE)
    tree = "Elaborate on the topic using a Tree of Thoughts."
    assert recs == [
        chat(
            "You are a helpful assistant.What is the capital of Peru?",
            ("system", "You are a helpful assistant."),
            ("human", "What is the capital of Peru?"),
            ("gpt", "Lima."),
        ),
        # a blank system adds no turn but is still part of the key
        chat("  Name a mammal that can fly.", ("human", "Name a mammal that can fly."), ("gpt", "The bat.")),
        chat(
            tree + "Hi there \nTell me a joke.",
            ("system", tree),
            ("human", "Hi there "),
            ("gpt", "Hello! How can I help? "),
            ("human", "Tell me a joke."),
            ("gpt", "Why did the scarecrow win an award? He was outstanding in his field."),
        ),
    ]
    assert counts == {"in": 7, "kept": 3, "vicuna_format": 2, "refusal:language model": 1, "malformed:wrong_type": 1}


def test_split_turns_roles():
    assert split_turns("Context first USER: hi ASSISTANT: yo") == [
        {"from": "human", "value": "Context first "},
        {"from": "human", "value": "hi "},
        {"from": "gpt", "value": "yo"},
    ]


def test_declaration():
    source = registry()["synthia"]
    assert (source.hub_id, source.split, source.confidence) == ("migtissera/Synthia-v1.3", "train", 1)
    assert (source.refusal, source.sample) == ("all_turns", Sample(15_000, stage="after_dedup"))
