"""The refusal filter: the original's patterns, matched case-insensitively from position 0."""

import pytest

from bagel.filters import DEFAULT_REFUSAL_PATTERNS, RefusalMatcher, refusal_text


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("As an AI, I cannot help.", "as an? (ai|generative language|gpt|bot)"),
        ("OpenAI trained me.", "openai"),  # at position 0 and upper case: the original missed both
        ("I'm sorry, but I can't assist with that.", "(can('t| ?not)|w(on't|will not)|unable.?) (\\w+\\s)+(with (that|your)|your \\w+|provide)"),
        ("Please note that the answer is 4.", "please note that"),
        ("It is IMPORTANT TO NOTE the risks.", "important to note"),
        ("I don't have personal opinions.", "i do(n't| not) (possess|have|exhibit) (personal|consciousness|subjective)"),
    ],
)
def test_first_matching_pattern(text, pattern):
    assert RefusalMatcher()(text) == pattern


def test_clean_text_and_empty():
    matcher = RefusalMatcher()
    assert matcher("The capital of France is Paris.") is None
    assert matcher("") is None


def test_sixteen_default_patterns_and_custom_case():
    assert len(DEFAULT_REFUSAL_PATTERNS) == 16
    matcher = RefusalMatcher(["Sorry\\W"])
    assert matcher("sorry!") == "Sorry\\W"
    assert matcher("sorrow") is None


def test_refusal_text_scopes():
    rec = {"conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": "h"},
                             {"from": "gpt", "value": "g1"}, {"from": "human", "value": "h2"},
                             {"from": "gpt", "value": "g2"}], "chosen": None}
    assert refusal_text(rec, "responses") == "g1\\ng2".replace("\\n", "\n")
    assert refusal_text(rec, "all_turns") == "s\nh\ng1\nh2\ng2"
    assert refusal_text({"conversations": None, "chosen": "c"}, "responses") == "c"
    assert refusal_text({"conversations": None, "chosen": "c"}, "chosen") == "c"
