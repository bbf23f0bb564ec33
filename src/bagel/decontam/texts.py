"""The training texts decontamination compares: per checked row, the first human turn and the whole instruction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HUMAN_ROLES = ("human", "user")  # lmsys_chat_1m keeps "user" turns; they are checked too


@dataclass
class RowTexts:
    """``rows[i]`` is a row index of the table; ``first[i]`` its first human turn (or dpo prompt),
    ``whole[i]`` all its human turns joined by newlines (equal to ``first[i]`` for one turn)."""

    rows: np.ndarray
    first: list[str]
    whole: list[str]


def row_texts(table: pa.Table) -> RowTexts:
    """Texts of the sft rows (human turns) and dpo rows (prompt) of ``table``; ``text`` rows are not checked."""
    n = table.num_rows
    checked = pc.not_equal(table.column("kind"), "text").to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    first: list = [None] * n
    whole: list = [None] * n
    conv = table.column("conversations").combine_chunks()
    if n and conv.null_count < n:
        flat = pc.list_flatten(conv)
        human = pc.and_(pc.is_in(flat.field("from"), value_set=pa.array(HUMAN_ROLES)), pc.is_valid(flat.field("value")))
        human = human.to_numpy(zero_copy_only=False)
        parents = pc.list_parent_indices(conv).to_numpy()[human]
        values = flat.field("value").filter(pa.array(human)).to_pylist()
        rows, start, count = np.unique(parents, return_index=True, return_counts=True)
        for row, lo, k in zip(rows.tolist(), start.tolist(), count.tolist()):
            first[row] = values[lo]
            whole[row] = values[lo] if k == 1 else "\n".join(values[lo : lo + k])
    prompts = table.column("prompt").to_pylist()
    keep = [i for i in np.flatnonzero(checked).tolist() if first[i] or prompts[i]]
    for i in keep:
        if not first[i]:
            first[i] = whole[i] = prompts[i]
    return RowTexts(np.asarray(keep, dtype=np.int64), [first[i] for i in keep], [whole[i] for i in keep])
