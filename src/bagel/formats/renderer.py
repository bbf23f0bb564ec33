"""Records (``RECORD_SCHEMA``) to training rows: ``sft`` and ``dpo`` tables in the configured formats.

Which formats an item is rendered in (mode ``every``, ``slices`` or ``random``) and every
default-system coin flip derive from the seed and an id only, so the rows do not depend on
input order, batch boundaries or worker count:

- ``every``: all configured formats;
- ``random``: ``formats[item_hash(seed, "format", id) % n]``;
- ``slices``: items ranked by ``item_hash(seed, "slice", id)`` over all ids (:meth:`Renderer.prepare`);
  the item of rank r skips ``formats[r % n]``, so with 4 formats each item is in exactly 3 and
  each format holds 75% (+-1) of the items;
- default system prompt of format f on a row: ``item_uniform(seed, f"system:{f}", row_id) < p``.

A chat with several exchanges gives one row per gpt turn; those rows get the id
``uuid5(NAMESPACE_OID, f"{record_id}:{i}")``, ``i`` the index of the gpt turn in
``conversations``; a single exchange keeps the record id. Text rows are rendered once
(format ``plain_text``). Runs of 3+ newlines collapse to two in SFT outputs and both DPO
responses. Malformed items are counted by reason and skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa

from bagel.errors import UserError
from bagel.formats.chat import MalformedChat, collapse_newlines, split_chat
from bagel.formats.options import FormatOptions
from bagel.formats.registry import get_format
from bagel.formats.tokens import resolve_special_tokens
from bagel.records import RECORD_FIELDS, as_array, item_hash, item_uniform, make_id

SFT_SCHEMA = pa.schema([(name, pa.string()) for name in ("id", "source", "format", "input", "output")])
DPO_SCHEMA = pa.schema([(name, pa.string()) for name in ("id", "source", "format", "prompt", "chosen", "rejected")])
PLAIN_TEXT = "plain_text"


def _blank(text: str | None) -> bool:
    return not text or text.isspace()


class _Columns:
    """Output columns built as Python lists, turned into one Arrow table at the end of a batch."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.lists: list[list[str]] = [[] for _ in schema]

    def add(self, *values: str) -> None:
        """Append one row."""
        for column, value in zip(self.lists, values):
            column.append(value)

    def table(self) -> pa.Table:
        """The rows added so far, in ``schema``."""
        return pa.Table.from_arrays([_string_array(c) for c in self.lists], schema=self.schema)


def _string_array(values: list[str]) -> pa.StringArray:
    """``pa.array(values, pa.string())`` without its check for pandas objects, which imports pandas (0.4 s),
    through pyarrow's ``StringBuilder`` (in ``pyarrow.lib`` since pyarrow 1.0, not re-exported)."""
    builder = pa.lib.StringBuilder()
    builder.append_values(values)
    return builder.finish()


class Renderer:
    """Renders batches of records into SFT and DPO rows (see the module docstring for the rules)."""

    def __init__(self, options: FormatOptions, seed: int):
        if options.mode == "slices" and len(options.formats) < 2:
            raise UserError("format mode 'slices' needs at least two formats")
        bos, eos = resolve_special_tokens(options)
        self.mode, self.seed = options.mode, seed
        self.formats = [get_format(n, bos=bos, eos=eos, chatml_markers=options.chatml_markers) for n in options.formats]
        self.suffixes = ["_" + fmt.name for fmt in self.formats]
        self.defaults = []  # per format: (prompt, probability, coin purpose), or None when never added
        for fmt in self.formats:
            default = fmt.default_system(options.system_defaults)
            self.defaults.append(default + (f"system:{fmt.name}",) if default and default[1] > 0 else None)
        n = len(self.formats)
        self._every = tuple(range(n))
        self._single = [(k,) for k in range(n)]
        self._all_but = [tuple(k for k in range(n) if k != skip) for skip in range(n)]
        self._slice_hashes: np.ndarray | None = None

    def prepare(self, ids: Iterable[str]) -> None:
        """Rank every item id for mode ``slices`` (8 bytes per distinct id); a no-op in other modes."""
        if self.mode == "slices":
            hashes = np.fromiter((item_hash(self.seed, "slice", i) for i in ids), dtype=np.uint64)
            self._slice_hashes = np.unique(hashes)

    def _choices(self, ids: list[str]) -> list[tuple[int, ...]]:
        """The indices of the formats each item is rendered in."""
        n = len(self.formats)
        if self.mode == "every":
            return [self._every] * len(ids)
        if self.mode == "random":
            return [self._single[item_hash(self.seed, "format", i) % n] for i in ids]
        if self._slice_hashes is None:
            raise RuntimeError("mode 'slices' needs Renderer.prepare(all ids) before render_batch")
        hashes = np.fromiter((item_hash(self.seed, "slice", i) for i in ids), dtype=np.uint64, count=len(ids))
        ranks = np.searchsorted(self._slice_hashes, hashes)
        found = ranks < len(self._slice_hashes)
        found[found] = self._slice_hashes[ranks[found]] == hashes[found]
        if not found.all():
            raise RuntimeError(f"item {ids[int(np.argmin(found))]} was not passed to Renderer.prepare")
        return [self._all_but[r] for r in (ranks % n).tolist()]

    def _inputs(self, k: int, system: str | None, turns: list[str], row_ids: Sequence[str]) -> list[str]:
        """Prompts of format ``k`` for each gpt turn, the default system prompt added per row by its coin."""
        fmt, default = self.formats[k], self.defaults[k]
        if system or default is None:
            return fmt.inputs(system, turns)
        prompt, probability, purpose = default
        coins = [item_uniform(self.seed, purpose, row_id) < probability for row_id in row_ids]
        if not any(coins):
            return fmt.inputs(None, turns)
        if all(coins):
            return fmt.inputs(prompt, turns)
        with_default, without = fmt.inputs(prompt, turns), fmt.inputs(None, turns)
        return [with_default[j] if coin else without[j] for j, coin in enumerate(coins)]

    def _chat_rows(
        self, record_id: str, source: str, system: str | None, turns: list[str], n_turns: int, choice: tuple, out: _Columns
    ) -> None:
        """Add one SFT row per gpt turn and chosen format (``n_turns``: turns in the stored chat)."""
        n_rows = len(turns) // 2
        if n_rows == 1:
            row_ids, responses = (record_id,), (collapse_newlines(turns[1]),)
        else:
            first_gpt = n_turns - len(turns) + 1
            row_ids = [make_id(f"{record_id}:{first_gpt + j}") for j in range(0, len(turns), 2)]
            responses = [collapse_newlines(turns[j]) for j in range(1, len(turns), 2)]
        out_ids, out_sources, out_formats, out_inputs, out_outputs = out.lists
        for k in choice:
            fmt = self.formats[k]
            out_ids += row_ids
            out_sources += (source + self.suffixes[k],) * n_rows
            out_formats += (fmt.name,) * n_rows
            out_inputs += self._inputs(k, system, turns, row_ids)
            out_outputs += map(fmt.output, responses)

    def _dpo_rows(
        self, record_id: str, source: str, system: str | None, pair: tuple[str, str, str], choice: tuple, out: _Columns
    ) -> None:
        """Add one DPO row per chosen format: the prompt as that format's input for a single human turn."""
        prompt, chosen, rejected = pair
        chosen, rejected = collapse_newlines(chosen), collapse_newlines(rejected)
        for k in choice:
            prompt_k = self._inputs(k, system, [prompt], [record_id])[0]
            out.add(record_id, source, self.formats[k].name, prompt_k, chosen, rejected)

    def render_batch(self, batch: pa.RecordBatch | pa.Table) -> tuple[pa.Table, pa.Table, Counter]:
        """Render a batch of records: ``(sft table, dpo table, Counter of dropped reasons)``."""
        missing = [name for name in RECORD_FIELDS if name not in batch.schema.names]
        if missing:
            raise UserError(f"records lack column(s) {', '.join(missing)}")
        ids, sources, kinds, systems, prompts, chosens, rejecteds, texts = (
            as_array(batch.column(name)).to_pylist()
            for name in ("id", "source", "kind", "system", "prompt", "chosen", "rejected", "text")
        )
        conversations = as_array(batch.column("conversations"))
        offsets = conversations.offsets.to_pylist()  # not to_numpy(), which imports pandas (0.4 s)
        if offsets[0]:
            offsets = [offset - offsets[0] for offset in offsets]
        turn_struct = conversations.flatten()
        turn_columns = turn_struct.flatten()
        roles = turn_columns[turn_struct.type.get_field_index("from")].to_pylist()
        values = turn_columns[turn_struct.type.get_field_index("value")].to_pylist()

        choices = self._choices(ids)
        sft, dpo, dropped = _Columns(SFT_SCHEMA), _Columns(DPO_SCHEMA), Counter()
        for i, kind in enumerate(kinds):
            system = None if _blank(systems[i]) else systems[i]
            if kind == "sft":
                start, end = offsets[i], offsets[i + 1]
                try:
                    chat_system, turns = split_chat(roles[start:end], values[start:end])
                except MalformedChat as err:
                    dropped[err.reason] += 1
                    continue
                self._chat_rows(ids[i], sources[i], chat_system or system, turns, end - start, choices[i], sft)
            elif kind == "dpo":
                pair = (prompts[i], chosens[i], rejecteds[i])
                if any(map(_blank, pair)):
                    dropped["malformed:empty_dpo_field"] += 1
                    continue
                self._dpo_rows(ids[i], sources[i], system, pair, choices[i], dpo)
            elif kind == "text":
                if _blank(texts[i]):
                    dropped["malformed:empty_text"] += 1
                    continue
                sft.add(ids[i], sources[i] + "_" + PLAIN_TEXT, PLAIN_TEXT, "", collapse_newlines(texts[i]))
            else:
                dropped["malformed:unknown_kind"] += 1
        return sft.table(), dpo.table(), dropped
