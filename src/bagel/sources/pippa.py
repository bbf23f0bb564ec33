"""pippa: deduped PIPPA role-play chats in ShareGPT format (``kingbri/PIPPA-shareGPT``)."""

from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.shapes import sharegpt


def convert(row: dict, ctx: ConvertContext) -> dict:
    """The chat, with a system prompt followed by a gpt greeting folded into "First message: <greeting>".

    Drops chats with fewer than ``options["min_turns"]`` turns, a refusal in any turn
    (checked before folding), or a first turn from gpt; keeps each remaining chat with
    probability ``options["keep_probability"]`` (keyed by the row id). The id is the row's own.
    """
    turns = list(row["conversations"])
    if len(turns) < ctx.options["min_turns"]:
        raise Skip("too_few_turns")
    ctx.skip_if_refusal("\n".join(turn["value"] for turn in turns))
    if turns[0]["from"] == "system" and turns[1]["from"] == "gpt":
        turns[0:2] = [{"from": "system", "value": "First message: " + turns[1]["value"]}]
    elif turns[0]["from"] == "gpt":
        raise Skip("starts_with_gpt")
    if not isinstance(row["id"], (str, int)):
        raise TypeError("id")
    row_id = str(row["id"])
    if ctx.uniform("keep", row_id) >= ctx.options["keep_probability"]:
        raise Skip("not_kept_by_coin")
    return sharegpt(turns, id=row_id)


SOURCE = Source(
    name="pippa",
    kind="sft",
    confidence=1,
    description="Deduped version of PIPPA in ShareGPT format.",
    license="AGPL-3.0",
    # unverified: the file is JSON Lines (bagel read it so) and its rows' columns (the hub viewer is off).
    hub_id="kingbri/PIPPA-shareGPT",
    split="train",
    data_files=("pippa_sharegpt_trimmed.jsonl",),
    convert_row=convert,
    dedup="none",
    options={"min_turns": 3, "keep_probability": 0.5},
)
