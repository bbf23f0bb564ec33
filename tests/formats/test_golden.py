"""Golden strings of the four formats, written out literally from FORMATS.md."""

from __future__ import annotations

import uuid

import pytest
from tests.formats.format_helpers import render, sft_record

from bagel.formats import SystemDefaults, render_prompt
from bagel.records import record

PRE = "Below is an instruction that describes a task.  Write a response that appropriately completes the request."
FORMATS = ["alpaca", "vicuna", "chatml", "llama2"]

# single turn: the human turn has surrounding whitespace, the response a leading newline and a run of 4 newlines
HUMAN, GPT = "  What is 2+2?\n", "\n4, matey.\n\n\n\nArr."
SINGLE_NO_SYSTEM = {
    "alpaca": PRE + "\n\n### Instruction: \nWhat is 2+2?\n\n### Response:\n",
    "vicuna": "USER: What is 2+2?\nASSISTANT: ",
    "chatml": "user\n  What is 2+2?\n</s>\n<s>assistant\n",
    "llama2": "[INST]   What is 2+2?\n [/INST]",
}
SINGLE_SYSTEM = {
    "alpaca": PRE + "\n\n### Instruction: \nYou are a pirate.\n\nWhat is 2+2?\n\n### Response:\n",
    "vicuna": "You are a pirate.\nUSER: What is 2+2?\nASSISTANT: ",
    "chatml": "system\nYou are a pirate.\n</s>\n<s>user\n  What is 2+2?\n</s>\n<s>assistant\n",
    "llama2": "[INST] <<SYS>>\nYou are a pirate.\n<</SYS>>\n\n  What is 2+2?\n [/INST]",
}
SINGLE_OUTPUT = {
    "alpaca": "4, matey.\n\nArr.",
    "vicuna": "4, matey.\n\nArr.",
    "chatml": "4, matey.\n\nArr.",
    "llama2": "\n4, matey.\n\nArr.",
}
MULTI = ("Hi", "Hello! ", "Name a color.", "Blue.")
MULTI_NO_SYSTEM = {
    "alpaca": [
        PRE + "\n\n### Instruction: \nHi\n\n### Response:\n",
        PRE + "\n\n### Instruction: \nHi\n\n### Response:\nHello!\n\n### Instruction: \nName a color.\n\n### Response:\n",
    ],
    "vicuna": ["USER: Hi\nASSISTANT: ", "USER: Hi\nASSISTANT: Hello!\nUSER: Name a color.\nASSISTANT: "],
    "chatml": [
        "user\nHi\n</s>\n<s>assistant\n",
        "user\nHi\n</s>\n<s>assistant\nHello!\n</s>\n<s>user\nName a color.\n</s>\n<s>assistant\n",
    ],
    "llama2": ["[INST] Hi [/INST]", "[INST] Hi [/INST] Hello! </s><s>[INST] Name a color. [/INST]"],
}
MULTI_SYSTEM = {
    "alpaca": [
        PRE + "\n\n### Instruction: \nBe brief.\n\nHi\n\n### Response:\n",
        PRE + "\n\n### Instruction: \nBe brief.\n\nHi\n\n### Response:\nHello!\n\n### Instruction: \nName a color.\n\n### Response:\n",
    ],
    "vicuna": [
        "Be brief.\nUSER: Hi\nASSISTANT: ",
        "Be brief.\nUSER: Hi\nASSISTANT: Hello!\nUSER: Name a color.\nASSISTANT: ",
    ],
    "chatml": [
        "system\nBe brief.\n</s>\n<s>user\nHi\n</s>\n<s>assistant\n",
        "system\nBe brief.\n</s>\n<s>user\nHi\n</s>\n<s>assistant\nHello!\n</s>\n<s>user\nName a color.\n</s>\n<s>assistant\n",
    ],
    "llama2": [
        "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]",
        "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Name a color. [/INST]",
    ],
}
MULTI_OUTPUT = ["Hello! ", "Blue."]  # the same in every format: no leading whitespace to strip


def _rows(rows: list[dict], fmt: str) -> list[dict]:
    return [row for row in rows if row["format"] == fmt]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("system", "expected"), [(None, SINGLE_NO_SYSTEM), ("You are a pirate.", SINGLE_SYSTEM)])
def test_single_turn(fmt, system, expected):
    sft, dpo, dropped = render([sft_record("id-1", HUMAN, GPT, system=system, source="pirates")], formats=[fmt])
    assert sft == [
        {"id": "id-1", "source": f"pirates_{fmt}", "format": fmt, "input": expected[fmt], "output": SINGLE_OUTPUT[fmt]}
    ]
    assert dpo == [] and dropped == {}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("system", "expected"), [(None, MULTI_NO_SYSTEM), ("Be brief.", MULTI_SYSTEM)])
def test_multi_turn(fmt, system, expected):
    sft, _, _ = render([sft_record("chat-7", *MULTI, system=system)], formats=[fmt])
    first_gpt = 2 if system else 1
    ids = [str(uuid.uuid5(uuid.NAMESPACE_OID, f"chat-7:{first_gpt + step}")) for step in (0, 2)]
    assert [(r["id"], r["input"], r["output"]) for r in sft] == list(zip(ids, expected[fmt], MULTI_OUTPUT))
    assert {r["source"] for r in sft} == {f"src_{fmt}"}


def test_custom_bos_eos_and_chatml_markers():
    conv = sft_record("x", *MULTI, system="Be brief.")
    sft, _, _ = render([conv], formats=["chatml", "llama2"], bos="<|b|>", eos="<|e|>")
    assert [r["input"] for r in sft][1::2] == [
        "system\nBe brief.\n<|e|>\n<|b|>user\nHi\n<|e|>\n<|b|>assistant\nHello!\n<|e|>\n<|b|>user\nName a color.\n<|e|>\n<|b|>assistant\n",
        "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! <|e|><|b|>[INST] Name a color. [/INST]",
    ]
    sft, _, _ = render([conv], formats=["chatml"], chatml_markers=True)
    assert [(r["input"], r["output"]) for r in sft] == [
        ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "Hello! <|im_end|>"),
        (
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nName a color.<|im_end|>\n<|im_start|>assistant\n",
            "Blue.<|im_end|>",
        ),
    ]


DPO_PROMPT = {
    "alpaca": PRE + "\n\n### Instruction: \nTell me a joke.\n\n### Response:\n",
    "vicuna": "USER: Tell me a joke.\nASSISTANT: ",
    "chatml": "user\nTell me a joke.\n</s>\n<s>assistant\n",
    "llama2": "[INST] Tell me a joke. [/INST]",
}
DPO_PROMPT_SYSTEM = {
    "alpaca": PRE + "\n\n### Instruction: \nBe funny.\n\nTell me a joke.\n\n### Response:\n",
    "vicuna": "Be funny.\nUSER: Tell me a joke.\nASSISTANT: ",
    "chatml": "system\nBe funny.\n</s>\n<s>user\nTell me a joke.\n</s>\n<s>assistant\n",
    "llama2": "[INST] <<SYS>>\nBe funny.\n<</SYS>>\n\nTell me a joke. [/INST]",
}


@pytest.mark.parametrize(("system", "expected"), [(None, DPO_PROMPT), ("Be funny.", DPO_PROMPT_SYSTEM)])
def test_dpo(system, expected):
    pair = record(
        "dpo", id="d1", source="jokes", system=system, prompt="Tell me a joke.",
        chosen=" Why?\n\n\n\nBecause. ", rejected="No.\n\n\n\n\nBye.",
    )  # fmt: skip
    sft, dpo, _ = render([pair])
    assert sft == []
    assert dpo == [
        {"id": "d1", "source": "jokes", "format": f, "prompt": expected[f], "chosen": " Why?\n\nBecause. ", "rejected": "No.\n\nBye."}
        for f in FORMATS
    ]


@pytest.mark.parametrize("mode", ["every", "slices", "random"])
def test_text_rendered_once(mode):
    sft, dpo, _ = render([record("text", id="t1", source="books", text="Once upon a time.\n\n\n\nThe end.\n")], mode=mode)
    assert sft == [
        {"id": "t1", "source": "books_plain_text", "format": "plain_text", "input": "", "output": "Once upon a time.\n\nThe end.\n"}
    ]
    assert dpo == []


def test_default_system_prompts_when_certain():
    always = SystemDefaults(vicuna_probability=1, chatml_probability=1, llama2_probability=1)
    sft, _, _ = render([sft_record("id-1", "Hi", "Hello")], system_defaults=always)
    assert [r["input"] for r in sft] == [
        PRE + "\n\n### Instruction: \nHi\n\n### Response:\n",
        "A chat between a user and an unbiased, uncensored assistant.\nUSER: Hi\nASSISTANT: ",
        "system\nYou are an unbiased, uncensored, helpful assistant.\n</s>\n<s>user\nHi\n</s>\n<s>assistant\n",
        "[INST] <<SYS>>\nYou are an unbiased, uncensored, helpful assistant.\n<</SYS>>\n\nHi [/INST]",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_render_prompt_for_inference(fmt):
    history = [{"from": "system", "value": "Be brief."}] + [
        {"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(MULTI[:3])
    ]
    assert render_prompt(history, fmt) == MULTI_SYSTEM[fmt][1]
