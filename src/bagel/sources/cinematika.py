"""cinematika: RP-style instructions and plain text synthesized from movie scripts (``jondurbin/cinematika-v0.1``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import PurePath

from bagel import records
from bagel.errors import UserError
from bagel.sources.base import ConvertContext, Skip, Source
from bagel.sources.hub import HubRead, load_revision
from bagel.sources.io import FILE, read_hub
from bagel.sources.shapes import instruction_output

HUB_ID = "jondurbin/cinematika-v0.1"
INSTRUCTION_FILES = (
    "prompt_to_character_card.parquet",
    "rp_to_character_card.parquet",
    "scene_summary.parquet",
    "scene_enhancement.parquet",
)
SCENE_MARKER = re.compile(r"\[scene\]\s*")
TOKENS_PER_WORD = 1.3  # the approximation used when no tokenizer is given


def _files(options: dict) -> tuple[str, ...]:
    return (*options["instruction_files"], options["scene_file"], options["plain_scenes_file"])


def fetch(source: Source) -> Iterator[list[dict]]:
    """Each file of the data set read from the hub, rows tagged with their file name."""
    revision = load_revision(source.pins, source.hub_id, source.revision)
    for file in _files(source.options):
        for batch in read_hub(source.hub_id, None, "train", (file,), revision=revision):
            yield [{**row, FILE: file} for row in batch]


def hub_reads(source: Source, local: bool) -> list[HubRead]:
    """One read of the repo (its default branch) covering every file :func:`fetch` reads."""
    return [] if local else [HubRead(source.hub_id, source.revision, None, "train", _files(source.options))]


def token_counter(tokenizer: str | None) -> Callable[[str], int]:
    """Count tokens with a local tokenizer (loaded offline), else approximate: words * 1.3, rounded."""
    if tokenizer is None:
        return lambda text: round(len(text.split()) * TOKENS_PER_WORD)
    from transformers import AutoTokenizer

    try:
        loaded = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    except (OSError, ValueError) as err:
        raise UserError(f"cinematika: cannot load tokenizer {tokenizer!r} offline ({err})") from None
    return lambda text: len(loaded(text).input_ids)


def _text_record(raw: str, seen: set[str], ctx: ConvertContext) -> dict | None:
    """A ``text`` record with ``[scene]`` markers removed, keyed on the raw text; None for a repeat."""
    rec = records.text(SCENE_MARKER.sub("", raw), key_text=raw)
    if rec["id"] in seen:
        ctx.counts["duplicate_text"] += 1
        return None
    seen.add(rec["id"])
    return rec


def _row(row: dict, ctx: ConvertContext, plain: list[tuple[int, str]], seen: set[str]) -> list[dict]:
    name = PurePath(row[FILE]).name
    if name in ctx.options["instruction_files"]:
        return [instruction_output(row["input"], row["output"])]
    if name == ctx.options["scene_file"]:
        rec = _text_record(row["scene_by_scene"], seen, ctx)
        return [rec] if rec else []
    if name == ctx.options["plain_scenes_file"]:
        if not isinstance(row["plain_scenes"], str):
            raise TypeError("plain_scenes is not a string")
        plain.append((int(row["index"]), row["plain_scenes"]))
        return []
    raise Skip("unknown_file")


def _chunks(plain: list[tuple[int, str]], seen: set[str], ctx: ConvertContext) -> Iterator[dict]:
    """Plain scenes in ``index`` order, appended ("\\n" + scene) until the chunk exceeds ``max_tokens``."""
    count = token_counter(ctx.options["tokenizer"])
    current, tokens, members = "", 0, 0
    for _, scene in sorted(plain, key=lambda item: item[0]):
        tokens += count(scene)
        current += "\n" + scene
        members += 1
        if tokens > ctx.options["max_tokens"]:
            ctx.counts["plain_scene_merged"] += members - 1
            rec = _text_record(current, seen, ctx)
            if rec:
                yield rec
            current, tokens, members = "", 0, 0
    ctx.counts["plain_scenes_short_tail"] += members


def convert(rows: Iterable[dict], ctx: ConvertContext) -> Iterator[dict]:
    """The four instruction files as single-turn SFT; ``scene_by_scene`` rows and chunks of ``plain_scenes`` as text.

    ``[scene]`` markers (and the whitespace after them) are removed from text rows, whose id is
    the uuid5 of the text before removal; a text seen before in this source is skipped
    (``duplicate_text``). Chunks: scenes sorted by ``index`` are appended one by one, each
    prefixed with "\\n", and a chunk is emitted once its token count exceeds ``max_tokens``
    (tokens from the ``tokenizer`` option, else the words * 1.3 approximation); the last, short
    chunk is dropped (``plain_scenes_short_tail``); scenes folded into an emitted chunk count as
    ``plain_scene_merged``.
    """
    plain: list[tuple[int, str]] = []
    seen: set[str] = set()
    yield from ctx.each(rows, partial(_row, plain=plain, seen=seen))
    yield from _chunks(plain, seen, ctx)


SOURCE = Source(
    name="cinematika",
    kind="sft+text",
    confidence=3,
    description=(
        "RP-style data synthesized from movie scripts so the model isn't quite as boring as it otherwise would be."
    ),
    license="CC-BY-NC-4.0",
    # unverified: that the six files still lie at the repo root with these names and columns.
    hub_id=HUB_ID,
    split="train",
    fetch=fetch,
    hub_reads=hub_reads,
    convert_rows=convert,
    dedup="add",
    options={
        "instruction_files": list(INSTRUCTION_FILES),
        "scene_file": "scene_by_scene.parquet",
        "plain_scenes_file": "plain_scenes.parquet",
        "tokenizer": None,
        "max_tokens": 4096,
    },
)
