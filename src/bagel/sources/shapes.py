"""The shapes many sources share, one helper each: multiple choice, passage + question,
ShareGPT passthrough, instruction/output, preference pair.

Each helper takes already-extracted values and returns a unified record (id included),
so a source module only says where its values live.
"""

from __future__ import annotations

from collections.abc import Sequence

from bagel import records
from bagel.sources.base import Skip

LETTER_ONLY_SUFFIX = "\nOnly output the the letter of the correct answer."  # sic: the original's text


def lettered(question: str, choices: Sequence[tuple[str, str]], sep: str = ". ") -> str:
    """``question`` followed by one ``<label><sep><text>`` line per choice."""
    return "\n".join([question, *(f"{label}{sep}{text}" for label, text in choices)])


def multiple_choice(
    question: str,
    choices: Sequence[tuple[str, str]],
    answer_label: str,
    *,
    letter_only: bool,
    hint: str = LETTER_ONLY_SUFFIX,
    hint_first: bool = False,
    answer_sep: str = " ",
) -> dict:
    """A lettered multiple-choice item.

    With ``letter_only`` the ``hint`` is appended (or put first with ``hint_first``) and the
    answer is the label alone; otherwise the answer is ``<label><answer_sep><choice text>``.
    Raises :class:`Skip` when ``answer_label`` is not one of the labels.
    """
    labels = [label for label, _ in choices]
    if answer_label not in labels:
        raise Skip("malformed:answer_not_in_choices")
    body = lettered(question, choices)
    if letter_only:
        instruction = hint + body if hint_first else body + hint
        return records.single_turn(instruction, answer_label)
    answer_text = choices[labels.index(answer_label)][1]
    return records.single_turn(body, f"{answer_label}{answer_sep}{answer_text}")


def passage_question(
    passage: str,
    question: str,
    answer: str,
    *,
    header: str | None = None,
    reverse: bool = False,
    system: str | None = None,
) -> dict:
    """A reading-comprehension item.

    With a ``header``: ``header``, blank line, passage, blank line, question (boolq, squad_v2).
    Without: passage and question joined by a newline, question first when ``reverse`` (drop,
    belebele). The system prompt is not part of the id.
    """
    if header is not None:
        instruction = "\n".join([header, "", passage, "", question])
    else:
        instruction = "\n".join([question, passage] if reverse else [passage, question])
    return records.single_turn(instruction, answer, system=system)


def sharegpt(turns: Sequence[dict], *, key_roles: tuple[str, ...] = ("human",), id: str | None = None) -> dict:
    """A ShareGPT chat kept as it is (only ``from``/``value`` of each turn).

    The id is ``id`` when the source has its own, else the uuid5 of the values of the turns
    whose role is in ``key_roles``, joined by newlines.
    """
    conversations = [{"from": str(turn["from"]), "value": turn["value"]} for turn in turns]
    for turn in conversations:
        if not isinstance(turn["value"], str):
            raise Skip("malformed:turn_value_not_string")
    key = "\n".join(turn["value"] for turn in conversations if turn["from"] in key_roles)
    return records.sft(key, conversations, id=id)


def instruction_output(instruction: str, output: str, *, prefix: str = "") -> dict:
    """A single-turn item: ``prefix + instruction`` answered by ``output``."""
    if not isinstance(instruction, str) or not isinstance(output, str):
        raise Skip("malformed:instruction_or_output_not_string")
    return records.single_turn(prefix + instruction, output)


def preference_pair(prompt: str, chosen: str, rejected: str, *, key_text: str | None = None) -> dict:
    """A DPO pair (pairs whose answers are the same are dropped as ``dpo:identical`` by validation)."""
    for value in (prompt, chosen, rejected):
        if not isinstance(value, str):
            raise Skip("malformed:pair_field_not_string")
    return records.dpo(prompt, chosen, rejected, key_text=key_text)


def labeled_choices(choices: dict) -> list[tuple[str, str]]:
    """``(label, text)`` pairs from a hub ``{"text": [...], "label": [...]}`` choices column (ARC, OpenBookQA)."""
    return list(zip(choices["label"], choices["text"], strict=True))
