from pathlib import Path

from bagel.pipeline.convert import convert_file
from bagel.records import make_id, record
from bagel.sources import registry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "sources" / "lmsys_chat_1m.parquet"


def pair(prompt, chosen, rejected):
    return record(
        "dpo", id=make_id(prompt), source="lmsys_chat_1m", confidence=2, prompt=prompt, chosen=chosen, rejected=rejected
    )


def chat(*values):
    turns = [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)]
    return record("sft", id=make_id("\n".join(values[::2])), source="lmsys_chat_1m", confidence=2, conversations=turns)


def test_gpt4_chats_become_sft_rows_or_pairs_against_the_largest_nnb_model():
    recs, counts = convert_file(registry()["lmsys_chat_1m"], FIXTURE)
    assert recs == [
        # vicuna-33b beats vicuna-13b and koala-13b; claude-1 and vicuna-7b are no candidates
        pair("What is the capital of France?", "Paris is the capital of France.", "Paris."),
        # alpaca-13b was seen first, koala-13b has the same size
        pair("Name a prime number.", "7 is a prime number.", "Two."),
        # the 13b model gave the same answer: stays sft; the later gpt-4 chat is a duplicate
        chat("What color is the sky on a clear day?", "It is blue."),
        # multi-turn chats stay sft even with a candidate for the same user turns
        chat("Hi!", "Hello! How can I help?", "Tell me a joke.", "Why did the chicken cross the road?"),
    ]
    assert counts == {
        "in": 16,
        "kept": 4,
        "rejected_candidate": 7,
        "not_gpt4": 2,
        "duplicate_prompt": 1,
        "refusal:language model": 1,
        "malformed:wrong_type": 1,
    }


def test_declaration():
    source = registry()["lmsys_chat_1m"]
    assert (source.hub_id, source.hub_config, source.split) == ("lmsys/lmsys-chat-1m", None, "train")
    assert (source.kind, source.confidence, source.dedup, source.refusal, source.refusal_stage) == (
        "sft+dpo", 2, "check_add", "responses", "rows")
    assert source.sample is None and source.convert_rows is not None
