"""The dedup step's passes after exact (id) dedup: exclusion of existing sets, and near-duplicate dedup.

Given each source's exact-dedup keep-mask (from the local seen-set or the Ray partitions):

1. a row whose id is in an ``exclude:`` set is dropped as ``excluded:<name>``;
2. with ``dedup.near`` on, in load order: a row whose key text nearly copies a row of an exclude set
   is dropped as ``excluded:<name>``; else, for sources that check the seen-set, one that nearly
   copies a row kept earlier (from a more trusted source, or earlier in the same one) is dropped as
   ``near_duplicate``. Kept rows of sources that add to the seen-set count for later rows. Sources
   that set ``near_dedup: false`` skip this pass.

The near pass runs in band-key partitions (:func:`split_band_keys` per file, :func:`shared_partition`
per partition, :func:`near_copies` once over the rows that share a key): on the local engine
(as many partitions as the memory budget needs) while exact dedup runs (:func:`refine`), as tasks on Ray
(:func:`bagel.pipeline.partitioned_dedup.partitioned_near`). Each near drop is written with the id
(and source) of the row it copies to the source's removals file (``near_duplicates.jsonl`` in the
out dir).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from bagel.config import ExcludeConfig, Recipe, SourceConfig
from bagel.dedup import SortedRuns, id_hashes
from bagel.errors import UserError
from bagel.memory import map_ahead
from bagel.near_dedup import ADD, CHECK_ADD, EXCLUDE, NONE, lsh_params, min_agreement, resolve_in_order, shared_members
from bagel.pipeline import cache
from bagel.pipeline.convert import convert_source, source_rows
from bagel.records import RECORD_SCHEMA, to_table
from bagel.sources.base import ConvertContext
from bagel.sources.io import fingerprint

KEY_COLUMNS = ["kind", "conversations", "prompt", "text"]  # what a key text is made from
FILE_SHIFT = 40  # a row reference: (file number << FILE_SHIFT) | row number
ROW_MASK = (1 << FILE_SHIFT) - 1
FLUSH_PAIRS = 4 << 20  # (key, ref) pairs a split holds before writing them out (64 MB)
SIGN_BATCHES = 8  # build batches a signing thread takes at once (fewer of the Python calls that wait for the GIL)
# Python's thread switch interval while exact dedup's Python loop and the near pass share the GIL (the default,
# 5 ms, is how long each of the near pass's short Python calls could wait for it)
SWITCH_SECONDS = 0.001


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
        missing = sorted({"id", *KEY_COLUMNS} - names)
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


def near_roles(ordered: list, exclude_sets: int) -> np.ndarray:
    """Each file's part in the near pass by its dedup policy (exclude sets, then sources in load order; see
    :func:`bagel.near_dedup.resolve_in_order`)."""
    by_policy = {"check_add": CHECK_ADD, "add": ADD}
    return np.array([EXCLUDE] * exclude_sets + [by_policy.get(source.dedup, NONE) for source, _ in ordered],
                    dtype=np.int8)


def taking_part(recipe: Recipe, ordered: list, exclude_sets: int) -> list[int]:
    """The files (by number) whose rows' band keys the near pass needs: every exclude set, and each source
    that does not opt out and either checks or adds, or can lose rows to an exclude set."""
    roles = near_roles(ordered, exclude_sets)
    exempt = near_exempt(recipe)
    return [number for number, role in enumerate(roles) if number < exclude_sets or (
        ordered[number - exclude_sets][0].name not in exempt and (role != NONE or exclude_sets))]


def band_partitions(rows: int, recipe: Recipe, memory_budget: int) -> int:
    """How many partitions the band keys of ``rows`` rows take so that one (16 bytes a key with its ref,
    about 4 times that while it is sorted) fits in ``memory_budget``."""
    bands, _ = lsh_params(recipe.dedup.near.threshold, recipe.dedup.near.num_perm)
    return max(1, -(-rows * bands * 16 * 4 // max(memory_budget, 1)))


def local_partitions(rows: int, recipe: Recipe, memory_budget: int) -> tuple[int, int]:
    """The local engine's band-key partitions for ``rows`` rows, and the threads that work on them (a core
    each): a partition per thread at once fits in half of ``memory_budget``."""
    threads = os.cpu_count() or 1
    return band_partitions(rows, recipe, memory_budget // 2 // threads), threads


class PartitionPairs:
    """``(key, ref)`` pairs split by partition: held in memory up to ``limit`` pairs, then written out as
    ``keys.<file number>.<chunk>.<part>.bin`` files under ``folder`` (the keys, then the refs)."""

    def __init__(self, folder: str, partitions: int, limit: int):
        self.folder, self.limit = Path(folder), limit
        self.held: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(partitions)]
        self.count = self.chunk = 0

    def add(self, number: int, parts: list[tuple[np.ndarray, np.ndarray]]) -> int:
        """Hold file ``number``'s pairs of each partition (``parts``); write all out past the limit. How many
        pairs were added."""
        for part, piece in enumerate(parts):
            self.held[part].append(piece)
        added = sum(len(keys) for keys, _ in parts)
        self.count += added
        if self.count >= self.limit:
            self.write(number)
        return added

    def write(self, number: int) -> None:
        """Write every held pair out, as chunk files of file ``number``."""
        for part, pieces in enumerate(self.held):
            with open(self.folder / f"keys.{number}.{self.chunk}.{part}.bin", "wb") as out:
                for column in (0, 1):
                    for piece in pieces:
                        piece[column].tofile(out)
            pieces.clear()
        self.chunk, self.count = self.chunk + 1, 0


def split_band_keys(path: str, number: int, live: np.ndarray | None, recipe: Recipe, folder: str,
                    partitions: int, threads: int | None = None, pairs: PartitionPairs | None = None) -> int:
    """The band keys of one file's live rows (``live`` None: every row), each with its row's ref
    (``number << FILE_SHIFT | row``), split by ``key % partitions`` into ``pairs`` (None: written out to
    ``folder``, a chunk at most every :data:`FLUSH_PAIRS` pairs), and their sketches at their rows of
    ``sketch.<number>.bin`` under ``folder`` (``num_perm`` bytes a row): the number of pairs. Batches are read
    on this thread and signed on ``threads`` others (default: a core each), taken as they come free."""
    from bagel.minhash import BandKeys, by_partition  # numba's kernels: loaded only where signatures are made

    near = recipe.dedup.near
    bander = BandKeys(near.threshold, near.num_perm, near.ngram)
    into = pairs or PartitionPairs(folder, partitions, FLUSH_PAIRS)
    count = 0

    def live_rows():  # each batch's live rows (read on this thread)
        offset = 0
        batches = cache.read_batches(Path(path), columns=KEY_COLUMNS, batch_size=SIGN_BATCHES * recipe.batch_size)
        for batch in batches:
            rows = (np.arange(batch.num_rows) if live is None
                    else np.flatnonzero(live[offset: offset + batch.num_rows]))
            yield offset, batch.num_rows, rows, batch if len(rows) == batch.num_rows else batch.take(rows)
            offset += batch.num_rows

    def signed(item):  # on a signing thread: the batch's size, live rows, sketches and (keys, refs) per partition
        offset, size, rows, values = item
        if not len(rows):
            return size, rows, None, []
        keys, sketches, has = bander.keys(values)
        keys, refs, bounds = by_partition(keys, has, (number << FILE_SHIFT) | (offset + rows), partitions)
        bounds = bounds.tolist()
        return size, rows, sketches, [(keys[a:b], refs[a:b]) for a, b in zip(bounds, bounds[1:])]

    threads = threads or os.cpu_count() or 1
    with (open(Path(folder) / f"sketch.{number}.bin", "wb") as sketch_file,
          ThreadPoolExecutor(threads, thread_name_prefix="near-sign") as signers):
        for size, rows, sketches, parts in map_ahead(signers, signed, live_rows(), threads):
            if sketches is None or len(rows) < size:  # a row of the file each
                block = np.zeros((size, near.num_perm), dtype=np.uint8)
                block[rows] = sketches if sketches is not None else 0
                sketches = block
            sketches.tofile(sketch_file)
            count += into.add(number, parts)
    if pairs is None:
        into.write(number)
    return count


def shared_partition(folder: str, part: int, held: list[tuple[np.ndarray, np.ndarray]] | None = None) -> int:
    """One partition's ``(key, ref)`` pairs (its files under ``folder``, and those ``held`` in memory, let go
    once read) whose key several rows share, to ``shared.<part>.npy``: how many."""
    paths = sorted(Path(folder).glob(f"keys.*.{part}.bin"))
    pieces = [np.fromfile(path, dtype=np.uint64).reshape(2, -1) for path in paths]
    pieces += [(keys, refs.view(np.uint64)) for keys, refs in held or []]
    keys = np.concatenate([piece[0] for piece in pieces]) if pieces else np.zeros(0, dtype=np.uint64)
    refs = np.concatenate([piece[1] for piece in pieces]) if pieces else np.zeros(0, dtype=np.uint64)
    del pieces[:]
    if held:
        held.clear()
    keys, refs = shared_members(keys, refs.view(np.int64))
    np.save(Path(folder) / f"shared.{part}.npy", np.stack([keys, refs.view(np.uint64)]))
    for path in paths:
        path.unlink()
    return len(keys)


def live_pairs(pairs: np.ndarray, lives: list[np.ndarray | None]) -> np.ndarray:
    """The ``(key, ref)`` pairs (columns) whose ref is a live row: ``lives[number]`` (None: every row)."""
    refs = pairs[1].view(np.int64)
    keep = np.ones(len(refs), dtype=bool)
    for number, live in enumerate(lives):
        if live is not None:
            chosen = np.flatnonzero((refs >> FILE_SHIFT) == number)
            keep[chosen] = live[refs[chosen] & ROW_MASK]
    return pairs[:, keep]


def near_copies(recipe: Recipe, folder: str, partitions: int, roles: np.ndarray,
                lives: list[np.ndarray | None] | None = None) -> np.ndarray:
    """The near copies, in load order, from every partition's shared pairs (of the live rows, given each
    file's ``lives``) and the sketches of their rows: ``(ref, copied ref)`` rows."""
    shared = [np.load(Path(folder) / f"shared.{part}.npy") for part in range(partitions)]
    shared = [live_pairs(pairs, lives) for pairs in shared] if lives is not None else shared
    pairs = np.concatenate(shared, axis=1) if shared else np.zeros((2, 0), dtype=np.uint64)
    refs, near = pairs[1].view(np.int64), recipe.dedup.near
    rows = np.unique(refs)
    sketches = np.empty((len(rows), near.num_perm), dtype=np.uint8)
    numbers = rows >> FILE_SHIFT
    for number in np.unique(numbers).tolist():
        chosen = numbers == number
        stored = np.memmap(Path(folder) / f"sketch.{number}.bin", dtype=np.uint8, mode="r")
        sketches[chosen] = stored.reshape(-1, near.num_perm)[rows[chosen] & ROW_MASK]
    return resolve_in_order(pairs[0], refs, roles, FILE_SHIFT, sketches, min_agreement(near.threshold, near.num_perm))


def _ids(path: Path):
    """The ``id`` column of a parquet file, a batch at a time."""
    return (batch.column(0).to_pylist() for batch in cache.read_batches(path, columns=["id"], batch_size=65536))


def exclude_by_id(recipe: Recipe, ordered: list, masks: list[np.ndarray], excluded: list[Path], root: Path,
                  memory_budget: int) -> list[tuple[np.ndarray, Counter]]:
    """Per source: its mask without the rows whose id an exclude set holds, and those drops
    (``excluded:<set>``, the first set holding the id)."""
    names = [e.name for e in recipe.exclude]
    held = SortedRuns(memory_budget // 4, root / "dedup" / "spill-exclude", payload=True)
    for number, path in enumerate(excluded):
        for ids in _ids(path):
            held.add(id_hashes(ids), np.full(len(ids), number, dtype=np.int64))
    out = []
    for (_, previous), mask in zip(ordered, masks):
        mask, dropped, offset = mask.copy(), Counter(), 0
        if excluded:
            for ids in _ids(previous.path):
                found, which = held.lookup(id_hashes(ids))
                part = mask[offset: offset + len(ids)]
                dropped.update(f"excluded:{names[k]}" for k in which[found & part].tolist())
                part &= ~found
                offset += len(ids)
        out.append((mask, dropped))
    return out


def apply_copies(names: list[str], mask: np.ndarray, dropped: Counter, copies: np.ndarray) -> list[tuple[int, int]]:
    """Drop one source's near copies (``(ref, copied ref)`` rows) from its ``mask``, counting each reason in
    ``dropped``: the pairs, in load order."""
    pairs = copies.tolist()
    for ref, copied in pairs:
        mask[ref & ROW_MASK] = False
        dropped[drop_reason(names, copied)] += 1
    return [tuple(pair) for pair in pairs]


def shared_band_keys(recipe: Recipe, files: list[Path], numbers: list[int], folder: Path, memory_budget: int) -> int:
    """The local engine's near pass up to the copies, in half of ``memory_budget`` (exact dedup runs with the
    other half): the band keys of every row of the files ``numbers`` (of ``files``), split into partitions
    (written out under ``folder`` every :data:`FLUSH_PAIRS` pairs, the last ones kept in memory), and each
    partition's shared ones found (:func:`shared_partition`, a core each): the number of partitions."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    partitions, threads = local_partitions(sum(cache.row_count(files[n]) for n in numbers), recipe, memory_budget)
    pairs = PartitionPairs(str(folder), partitions, FLUSH_PAIRS)
    for number in numbers:
        split_band_keys(str(files[number]), number, None, recipe, str(folder), partitions, threads, pairs)
    with ThreadPoolExecutor(threads, thread_name_prefix="near-shared") as pool:
        list(pool.map(shared_partition, [str(folder)] * partitions, range(partitions), pairs.held))
    return partitions


def copies_to_files(recipe: Recipe, ordered: list, folder: str, partitions: int, exclude_sets: int) -> int:
    """A task of the partitioned near pass: the near copies, one ``near.<pos>.npy`` per source under
    ``folder/near``; how many."""
    near_folder = Path(folder) / "near"
    copies = near_copies(recipe, str(near_folder), partitions, near_roles(ordered, exclude_sets))
    for pos, own in enumerate(copies_by_source(copies, exclude_sets, len(ordered))):
        np.save(near_folder / f"near.{pos}.npy", own)
    return len(copies)


def copies_by_source(copies: np.ndarray, exclude_sets: int, sources: int) -> list[np.ndarray]:
    """The near copies (``(ref, copied ref)`` rows) each of ``sources`` sources (after ``exclude_sets``
    exclude sets in the file numbering) holds."""
    owners = (copies[:, 0] >> FILE_SHIFT) - exclude_sets
    return [copies[owners == pos] for pos in range(sources)]


def source_near_drops(recipe: Recipe, ordered: list, pos: int, folder: str, excluded: list[Path], mask: np.ndarray,
                      dropped: dict) -> tuple[np.ndarray, dict, list[dict]]:
    """One source's (mask, drops, near-drop records) after the partitioned near pass
    (:func:`bagel.pipeline.partitioned_dedup.partitioned_near`), from its exact ones."""
    names = [e.name for e in recipe.exclude]
    dropped = Counter(dropped)
    pairs = apply_copies(names, mask, dropped, np.load(Path(folder) / "near" / f"near.{pos}.npy"))
    files = [*excluded, *(previous.path for _, previous in ordered)]
    return mask, dict(dropped), near_records(names, ordered, files, pos, pairs)


def resolve(files: list[Path], refs: list[int]) -> dict[int, str]:
    """``ref -> id`` of the referenced rows of ``files`` (each referenced file's ids read once)."""
    out = {}
    for number in sorted({r >> FILE_SHIFT for r in refs}):
        ids = pq.read_table(files[number], columns=["id"])["id"]
        for ref in refs:
            if ref >> FILE_SHIFT == number:
                out[ref] = ids[ref & ROW_MASK].as_py()
    return out


def drop_reason(names: list[str], copied_ref: int) -> str:
    """Why a near copy of the row ``copied_ref`` is dropped: ``excluded:<set>`` or ``near_duplicate``."""
    number = copied_ref >> FILE_SHIFT
    return f"excluded:{names[number]}" if number < len(names) else "near_duplicate"


def near_records(names: list[str], ordered: list, files: list[Path], pos: int, pairs: list[tuple[int, int]],
                 resolved: dict[int, str] | None = None) -> list[dict]:
    """The removal records of source ``pos``'s near drops (``(dropped ref, copied ref)``): each names the
    dropped row's id and the id and source (or exclude set) it copies."""
    resolved = resolved if resolved is not None else resolve(files, [ref for pair in pairs for ref in pair])
    labels = names + [source.name for source, _ in ordered]
    return [{"source": ordered[pos][0].name, "id": resolved[dropped_ref],
             "reason": drop_reason(names, copied).split(":")[0], "near_id": resolved[copied],
             "near_source": labels[copied >> FILE_SHIFT]} for dropped_ref, copied in pairs]


def removal_records(names: list[str], ordered: list, files: list[Path],
                    passes: list[tuple[np.ndarray, Counter, list[tuple[int, int]]]]) -> list:
    """Per source ``(mask, drops by reason, near-drop records)`` from ``(mask, drops, [(dropped ref, copied
    ref)])`` (each referenced file's ids read once for all sources)."""
    resolved = resolve(files, [ref for _, _, drops in passes for pair in drops for ref in pair])
    return [(mask, dropped, near_records(names, ordered, files, pos, drops, resolved))
            for pos, (mask, dropped, drops) in enumerate(passes)]


def refine(recipe: Recipe, ordered: list, exact: Callable[[int], list[np.ndarray]], root: Path,
           memory_budget: int) -> list[tuple[np.ndarray, Counter, list[dict]]]:
    """Exclusion and near dedup over every source (``ordered``: ``(source, previous result)`` in load
    order) after exact dedup (``exact(memory budget)``: each source's keep-mask): per source, the
    keep-mask, drops by reason and near-drop records.

    With near dedup on, the band keys that rows share are found on other threads (a core each) while
    exact dedup runs, each with half the memory budget (:func:`shared_band_keys`), over every row of the
    files taking part; the rows that exact dedup or an exclude set's ids drop are left out after, before
    the copies are resolved."""
    excluded = [exclude_records(e, root, recipe.batch_size) for e in recipe.exclude]
    names, files = [e.name for e in recipe.exclude], [*excluded, *(prev.path for _, prev in ordered)]
    if not recipe.dedup.near.enabled:
        passes = exclude_by_id(recipe, ordered, exact(memory_budget), excluded, root, memory_budget)
        return [(mask, dropped, []) for mask, dropped in passes]
    folder, interval = root / "dedup" / "near", sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_SECONDS)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="near") as near:
            shared = near.submit(shared_band_keys, recipe, files, taking_part(recipe, ordered, len(excluded)),
                                 folder, memory_budget)
            passes = exclude_by_id(recipe, ordered, exact(memory_budget // 2), excluded, root, memory_budget // 2)
            partitions = shared.result()
    finally:
        sys.setswitchinterval(interval)
    lives = [None] * len(excluded) + [mask for mask, _ in passes]
    copies = near_copies(recipe, str(folder), partitions, near_roles(ordered, len(excluded)), lives)
    refined = []
    for (mask, dropped), own in zip(passes, copies_by_source(copies, len(excluded), len(passes))):
        mask, dropped = mask.copy(), Counter(dropped)
        refined.append((mask, dropped, apply_copies(names, mask, dropped, own)))
    shutil.rmtree(folder, ignore_errors=True)
    return removal_records(names, ordered, files, refined)
