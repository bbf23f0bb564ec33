"""The dedup step's passes after exact (id) dedup: exclusion of existing sets, and near-duplicate dedup.

Given each source's exact-dedup keep-mask (from the local seen-set or the Ray group-by), sources
are visited in load order, a batch at a time:

1. a row whose id is in an ``exclude:`` set is dropped as ``excluded:<name>``;
2. with ``dedup.near`` on, a row whose key text nearly copies a row of an exclude set is dropped as
   ``excluded:<name>``; else, for sources that check the seen-set, one that nearly copies a row kept
   earlier (from a more trusted source, or earlier in the same one) is dropped as ``near_duplicate``.
   Kept rows of sources that add to the seen-set are remembered. Sources that set
   ``near_dedup: false`` skip this pass.

Each near drop is written with the id (and source) of the row it copies to the source's removals
file (``near_duplicates.jsonl`` in the out dir).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bagel.config import ExcludeConfig, Recipe, SourceConfig
from bagel.dedup import SortedRuns, id_hashes
from bagel.errors import UserError
from bagel.near_dedup import NearIndex, key_texts
from bagel.pipeline import cache
from bagel.pipeline.convert import convert_source, source_rows
from bagel.records import RECORD_SCHEMA, to_table
from bagel.sources.base import ConvertContext
from bagel.sources.io import fingerprint

KEY_COLUMNS = ["id", "kind", "conversations", "prompt", "text"]
FILE_SHIFT = 40  # a row reference: (file number << FILE_SHIFT) | row number


def dedup_spec(recipe: Recipe) -> list:
    """What the dedup step's output depends on beyond the ids: near settings and the exclude sets."""
    near = recipe.dedup.near.model_dump() if recipe.dedup.near.enabled else None
    return [near, sorted(near_exempt(recipe)),
            [[e.name, fingerprint(e.path), e.shape, e.columns] for e in recipe.exclude]]


def near_exempt(recipe: Recipe) -> set[str]:
    """Sources that set ``near_dedup: false``: their rows skip the near pass (by id they are still checked)."""
    return {cfg.name for cfg in recipe.sources if not cfg.near_dedup}


def refining(recipe: Recipe) -> bool:
    """Whether the dedup step has anything to do after exact dedup."""
    return recipe.dedup.near.enabled or bool(recipe.exclude)


def exclude_records(excluded: ExcludeConfig, root: Path, batch_size: int) -> Path:
    """A parquet of the exclude set's records: the file itself when it is a build's records.parquet,
    else its rows converted as a recipe-declared source of ``shape`` (cached under ``exclude/``)."""
    if excluded.shape is None:
        try:
            names = set(pq.ParquetFile(excluded.path).schema_arrow.names)
        except Exception as err:  # noqa: BLE001 - any unreadable file gets the same message
            raise UserError(f"exclude {excluded.name}: {excluded.path} is not a parquet file ({err}); "
                            "give `shape:` and `columns:` to read other files") from None
        missing = sorted(set(KEY_COLUMNS) - names)
        if missing:
            raise UserError(f"exclude {excluded.name}: {excluded.path} is not a records.parquet (no "
                            f"{', '.join(missing)}); give `shape:` and `columns:` to read other files")
        return excluded.path
    cfg = SourceConfig(name=excluded.name, path=excluded.path, shape=excluded.shape, columns=excluded.columns)
    source = cfg.resolve()
    entry = cache.Entry(root / "exclude", excluded.name,
                        cache.key("exclude", fingerprint(excluded.path), excluded.shape, excluded.columns))
    if not entry.data.exists():
        ctx = ConvertContext(source.name, 0, dict(source.options))
        batches = convert_source(source, source_rows(source, excluded.path, batch_size), ctx, None)
        cache.write_parquet(entry.data, RECORD_SCHEMA, (to_table(b) for b in batches))
    return entry.data


class Refiner:
    """Exclusion and near-dup state over one dedup step: the exclude sets' ids and band keys, and the
    band keys of kept rows."""

    def __init__(self, recipe: Recipe, root: Path, memory_budget: int):
        near = recipe.dedup.near
        self.batch_size = recipe.batch_size
        self.names = [e.name for e in recipe.exclude]
        self.files: list[Path] = []  # what row references point into: exclude sets, then sources
        self.excluded_ids = SortedRuns(memory_budget // 4, root / "dedup" / "spill-exclude", payload=True)

        def index(name):
            return NearIndex(near.threshold, near.num_perm, near.ngram, memory_budget // 4, root / "dedup" / name)

        self.near = index("spill-near") if near.enabled else None
        self.excluded_near = index("spill-near-exclude") if near.enabled else None
        for number, excluded in enumerate(recipe.exclude):
            self._load_exclude(number, exclude_records(excluded, root, recipe.batch_size))

    def _batches(self, path: Path):
        offset = 0
        for batch in cache.read_batches(path, columns=KEY_COLUMNS, batch_size=self.batch_size):
            yield offset, batch
            offset += batch.num_rows

    def _load_exclude(self, number: int, path: Path) -> None:
        self.files.append(path)
        for offset, batch in self._batches(path):
            ids = batch.column("id").to_pylist()
            self.excluded_ids.add(id_hashes(ids), np.full(len(ids), number, dtype=np.int64))
            if self.excluded_near is not None:
                refs = (number << FILE_SHIFT) | (offset + np.arange(len(ids), dtype=np.int64))
                keys, has = self.excluded_near.keys(key_texts(batch))
                self.excluded_near.add(keys[has], refs[has])

    def source(self, path: Path, mask: np.ndarray, policy: str,
               near: bool = True) -> tuple[np.ndarray, Counter, list[tuple]]:
        """Refine one source's keep-mask: (mask, drops by reason, [(ref of the dropped row, ref of the row
        it copies)])."""
        number = len(self.files)
        self.files.append(path)
        check, add = policy == "check_add", policy in ("check_add", "add")
        mask, dropped, near_drops = mask.copy(), Counter(), []
        for offset, batch in self._batches(path):
            part = mask[offset: offset + batch.num_rows]
            ids = batch.column("id").to_pylist()
            found, which = self.excluded_ids.lookup(id_hashes(ids))
            for row in np.flatnonzero(found & part):
                dropped[f"excluded:{self.names[which[row]]}"] += 1
            part &= ~found
            live = np.flatnonzero(part)
            if self.near is None or not near or not len(live):
                continue
            keys, has = self.near.keys(key_texts(batch.take(live)))
            copied = self.excluded_near.find(keys, has)
            rest = copied < 0
            refs = (number << FILE_SHIFT) | (offset + live)
            copied[rest] = self.near.match(keys[rest], has[rest], refs[rest], check=check, add=add)
            for i in np.flatnonzero(copied >= 0):
                dropped[drop_reason(self.names, int(copied[i]))] += 1
                part[live[i]] = False
                near_drops.append((int(refs[i]), int(copied[i])))
        return mask, dropped, near_drops



def resolve(files: list[Path], refs: list[int]) -> dict[int, str]:
    """``ref -> id`` of the referenced rows of ``files`` (each referenced file's ids read once)."""
    out = {}
    for number in sorted({r >> FILE_SHIFT for r in refs}):
        ids = pq.read_table(files[number], columns=["id"])["id"]
        for ref in refs:
            if ref >> FILE_SHIFT == number:
                out[ref] = ids[ref & ((1 << FILE_SHIFT) - 1)].as_py()
    return out


def drop_reason(names: list[str], copied_ref: int) -> str:
    """Why a near copy of the row ``copied_ref`` is dropped: ``excluded:<set>`` or ``near_duplicate``."""
    number = copied_ref >> FILE_SHIFT
    return f"excluded:{names[number]}" if number < len(names) else "near_duplicate"


def removal_records(names: list[str], ordered: list, files: list[Path],
                    passes: list[tuple[np.ndarray, Counter, list[tuple[int, int]]]]) -> list:
    """Per source ``(mask, drops by reason, near-drop records)`` from ``(mask, drops, [(dropped ref, copied
    ref)])``: each record names the dropped row's id and the id and source (or exclude set) it copies."""
    resolved = resolve(files, [ref for _, _, drops in passes for pair in drops for ref in pair])
    labels = names + [source.name for source, _ in ordered]
    out = []
    for (source, _), (mask, dropped, drops) in zip(ordered, passes):
        records = [{"source": source.name, "id": resolved[dropped_ref],
                    "reason": drop_reason(names, copied).split(":")[0], "near_id": resolved[copied],
                    "near_source": labels[copied >> FILE_SHIFT]} for dropped_ref, copied in drops]
        out.append((mask, dropped, records))
    return out


def refine(recipe: Recipe, ordered: list, masks: list[np.ndarray], root: Path,
           memory_budget: int) -> list[tuple[np.ndarray, Counter, list[dict]]]:
    """Exclusion and near dedup over every source (``ordered``: ``(source, previous result)`` in load
    order) after exact dedup: per source, the keep-mask, drops by reason and near-drop records."""
    refiner = Refiner(recipe, root, memory_budget)
    exempt = near_exempt(recipe)
    passes = [refiner.source(prev.path, mask, source.dedup, source.name not in exempt)
              for (source, prev), mask in zip(ordered, masks)]
    return removal_records(refiner.names, ordered, refiner.files, passes)
