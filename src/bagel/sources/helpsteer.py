"""helpsteer: responses with human ratings of five attributes, as preference pairs (``nvidia/HelpSteer``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.shapes import preference_pair

ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")


def select_pair(responses: list[dict], correctness: int) -> tuple[str, str]:
    """(chosen, rejected) among one prompt's responses, walking them in order.

    The first response with the target ``correctness`` is chosen; a later one with that
    correctness and a strictly higher score replaces it (the old chosen becomes rejected)
    and ends the walk; otherwise rejected is the first response with another correctness.
    Raises :class:`Skip` when either is missing.
    """
    chosen = rejected = None
    for response in responses:
        if response["correctness"] == correctness:
            if chosen is None:
                chosen = response
            elif response["score"] > chosen["score"]:
                rejected, chosen = chosen["response"], response
                break
        elif rejected is None:
            rejected = response["response"]
    if chosen is None:
        raise Skip("no_chosen")
    if rejected is None:
        raise Skip("no_rejected")
    return chosen["response"], rejected


def convert(rows: Iterable[dict], ctx: ConvertContext) -> Iterator[dict]:
    """One dpo pair per prompt with at least ``options["min_responses"]`` refusal-free responses.

    Refused responses are dropped first (counted per row; when the source's refusal scope is on); the rest are grouped by prompt
    in first-seen order. score = the sum of the five ratings. Drops are then counted per
    prompt: ``too_few_responses``, ``no_chosen``, ``no_rejected``
    (pairs whose answers are the same: ``dpo:identical``, in validation).
    """
    groups: dict[str, list[dict]] = {}

    def collect(row: dict, ctx: ConvertContext) -> tuple:
        ctx.skip_if_refusal(row["response"])
        score = sum(row[name] for name in ATTRIBUTES)
        response = {"response": row["response"], "correctness": row["correctness"], "score": score}
        groups.setdefault(row["prompt"], []).append(response)
        return ()

    def pair(prompt: str, ctx: ConvertContext) -> dict:
        responses = groups[prompt]
        if len(responses) < ctx.options["min_responses"]:
            raise Skip("too_few_responses")
        chosen, rejected = select_pair(responses, ctx.options["chosen_correctness"])
        return preference_pair(prompt, chosen, rejected)

    deque(ctx.each(rows, collect), maxlen=0)
    yield from ctx.each(groups, pair)


SOURCE = Source(
    name="helpsteer",
    kind="dpo",
    confidence=2,
    description=(
        "Really neat dataset provided by the folks at NVidia with human annotation across a variety of metrics. "
        'Only items with the highest "correctness" value were used for DPO here, with the highest scoring output '
        'as "chosen" and random lower scoring value as "rejected".'
    ),
    license="CC-BY-4.0",
    # JSON Lines files train.jsonl.gz / validation.jsonl.gz (card: commits); unverified: no newer files.
    hub_id="nvidia/HelpSteer",
    split="train",
    convert_rows=convert,
    options={"min_responses": 2, "chosen_correctness": 4},
    refusal="responses",  # each response, before grouping: a refused one is neither chosen nor rejected
    refusal_stage="rows",
)
