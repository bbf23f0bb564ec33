"""synthia: GPT-4 data generated with advanced prompting (``migtissera/Synthia-v1.3``)."""

import re

from bagel import records
from bagel.sources.base import ConvertContext, Sample, Skip, Source

QUOTED_ROLE = re.compile(r"[\"'](?:USER|ASSISTANT):?[\"']")
TURNS = re.compile(r"(^(?:(?:USER|ASSISTANT))?:?|(?:USER|ASSISTANT):)\s*(.*?)(?=(?:ASSISTANT|USER):|$)", re.DOTALL)


def split_turns(instruction: str) -> list[dict]:
    """The turns of a "USER: ... ASSISTANT: ..." instruction: an empty or USER role is human, any other gpt."""
    return [
        {"from": "human" if not role.strip() or "USER" in role else "gpt", "value": content}
        for role, content in TURNS.findall(instruction)
    ]


def convert(row: dict, ctx: ConvertContext) -> dict:
    """system (when not blank) + the instruction's turns + the response as the last gpt turn.

    Rows whose system mentions USER or whose instruction quotes a role marker ("USER:")
    are skipped (``vicuna_format``). The id is the system (or "") immediately followed by
    the human turns joined with newlines.
    """
    system, instruction = row["system"], row["instruction"]
    if "USER" in system or QUOTED_ROLE.search(instruction):
        raise Skip("vicuna_format")
    turns = [{"from": "system", "value": system}] if system.strip() else []
    if "USER:" not in instruction:
        turns.append({"from": "human", "value": instruction})
    else:
        turns += split_turns(instruction)
    turns.append({"from": "gpt", "value": row["response"]})
    key = system + "\n".join(turn["value"] for turn in turns if turn["from"] == "human")
    return records.sft(key, turns)


SOURCE = Source(
    name="synthia",
    kind="sft",
    confidence=1,
    description="GPT-4 generated data using advanced prompting from Migel Tissera.",
    license="Apache-2.0",
    # One file, Synthia-v1.3.jsonl (card: file tree); unverified: its columns beyond system/instruction/response.
    hub_id="migtissera/Synthia-v1.3",
    split="train",
    convert_row=convert,
    refusal="all_turns",
    sample=Sample(15_000, stage="after_dedup"),
)
