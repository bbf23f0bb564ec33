"""What a source reads from the Hugging Face hub, how a read is pinned to a commit, and why a read failed.

A :class:`HubRead` is one ``datasets.load_dataset`` call's target: repo id, requested ref
(``None`` = the repo's default branch, or e.g. ``refs/convert/parquet``), config, split and
data files. A build pins a read by mapping ``hub_id@ref`` to a commit sha (from the recipe's
lock file, see :mod:`bagel.lock`, or a ``revision:`` that is already a sha). A hub error is
turned into :class:`HubUnavailable`: one line naming the source, the cause and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bagel.errors import UserError

COMMIT = re.compile(r"[0-9a-f]{40}")
PARQUET_EXPORT = "refs/convert/parquet"  # the hub's parquet conversion of a repo (also of script-based ones)


@dataclass(frozen=True)
class HubRead:
    """One read of a hub data set: what ``load_dataset`` is asked for (before pinning)."""

    hub_id: str
    ref: str | None
    config: str | None
    split: str | None
    data_files: tuple[str, ...] | None

    @property
    def key(self) -> str:
        """``hub_id@ref`` (``@main`` for the default branch): what a pin is looked up by."""
        return pin_key(self.hub_id, self.ref)

    def as_dict(self, pins: Mapping[str, str]) -> dict:
        """The report / ``bagel sources --json`` form: requested ref and the pinned commit (or None)."""
        return {"hub_id": self.hub_id, "ref": self.ref or "main", "revision": pinned_revision(pins, self.hub_id, self.ref),
                "config": self.config, "split": self.split,
                "data_files": list(self.data_files) if self.data_files else None}


def is_commit(revision: str | None) -> bool:
    """Whether ``revision`` is a full commit sha (a pin), not a branch, tag or None."""
    return bool(revision) and COMMIT.fullmatch(revision) is not None


def pin_key(hub_id: str, ref: str | None) -> str:
    """The lock's key of a (repo, requested ref) pair."""
    return f"{hub_id}@{ref or 'main'}"


def pinned_revision(pins: Mapping[str, str], hub_id: str, ref: str | None) -> str | None:
    """The commit a read of ``hub_id`` at ``ref`` is pinned to, or None when it is not pinned."""
    if is_commit(ref):
        return ref
    return pins.get(pin_key(hub_id, ref))


def load_revision(pins: Mapping[str, str], hub_id: str, ref: str | None) -> str | None:
    """The revision to pass to ``load_dataset``: the pinned commit, else the requested ref."""
    return pinned_revision(pins, hub_id, ref) or ref


def resolve_commit(hub_id: str, ref: str | None) -> str:
    """The current commit of ``hub_id`` at ``ref`` on the hub (network): ``HfApi().dataset_info(...).sha``."""
    from huggingface_hub import HfApi

    try:
        sha = HfApi().dataset_info(hub_id, revision=ref).sha
    except Exception as err:  # noqa: BLE001 - classified into one line below
        raise unavailable(hub_id, ref, err) from None
    if not is_commit(sha):
        raise UserError(f"{hub_id}@{ref or 'main'}: the hub returned no commit sha ({sha!r})")
    return sha


class HubUnavailable(UserError):
    """A hub data set that cannot be read: gated, missing, unknown revision, or unreachable.

    ``cause`` is one of ``gated``, ``not_found``, ``revision_not_found``, ``unreachable``,
    ``load_error``; ``source`` is set once the failing source is known.
    """

    def __init__(self, hub_id: str, cause: str, detail: str, hint: str, source: str | None = None):
        self.hub_id, self.cause, self.detail, self.hint, self.source = hub_id, cause, detail, hint, source
        where = f"source {source}: " if source else ""
        super().__init__(f"{where}{hub_id} {CAUSES[cause]} ({detail}); {hint}")

    def __reduce__(self):  # picklable across worker processes
        return (HubUnavailable, (self.hub_id, self.cause, self.detail, self.hint, self.source))

    def for_source(self, name: str) -> HubUnavailable:
        """The same error, naming the source that failed."""
        return HubUnavailable(self.hub_id, self.cause, self.detail, self.hint, name)

    def as_dict(self) -> dict:
        """The report form of a skipped source."""
        return {"source": self.source, "hub_id": self.hub_id, "cause": self.cause, "detail": self.detail,
                "hint": self.hint}


CAUSES = {
    "gated": "is gated on the Hugging Face hub",
    "not_found": "was not found on the Hugging Face hub",
    "revision_not_found": "has no such revision on the Hugging Face hub",
    "unreachable": "could not be reached",
    "load_error": "could not be loaded",
}
DISABLE = "disable the source (`enabled: false`) or rerun with --skip-unavailable"


def exception_chain(err: BaseException) -> list[BaseException]:
    """``err`` and its causes / contexts, outermost first."""
    seen: list[BaseException] = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__
    return seen


def classify(err: BaseException) -> str:
    """The cause of a hub error: ``gated``, ``revision_not_found``, ``not_found``, ``unreachable`` or ``load_error``.

    ``datasets`` wraps hub errors (a gated repo becomes a ``DatasetNotFoundError`` whose
    message says "gated", often with the original error dropped), so both the exception
    chain and the message are read.
    """
    import httpx
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    chain = exception_chain(err)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, GatedRepoError) for e in chain) or "gated" in text:
        return "gated"
    if any(isinstance(e, RevisionNotFoundError) for e in chain) or re.search(r"revision .* doesn't exist", text):
        return "revision_not_found"
    unreachable = (OfflineModeIsEnabled, ConnectionError, TimeoutError, httpx.TransportError, LocalEntryNotFoundError)
    if any(isinstance(e, unreachable) for e in chain) or "offline" in text or "couldn't reach" in text:
        return "unreachable"
    from datasets.exceptions import DatasetNotFoundError

    if any(isinstance(e, (RepositoryNotFoundError, DatasetNotFoundError)) for e in chain):
        return "not_found"
    return "load_error"


def unavailable(hub_id: str, ref: str | None, err: BaseException) -> HubUnavailable:
    """A :class:`HubUnavailable` for ``err`` raised while reading ``hub_id`` at ``ref``, with what to do."""
    cause = classify(err)
    hints = {
        "gated": f"accept its terms at https://huggingface.co/datasets/{hub_id}, set HF_TOKEN "
                 f"(or `hf auth login`), or {DISABLE}",
        "not_found": f"check the hub id (a private repo needs HF_TOKEN), or {DISABLE}",
        "revision_not_found": f"check the source's `revision:` ({ref or 'main'}) or rerun `bagel lock`, or {DISABLE}",
        "unreachable": f"check the network (and HF_HUB_OFFLINE), give the source a local `path:`, or {DISABLE}",
        "load_error": f"check the source's hub_config / split / data_files, or {DISABLE}",
    }
    detail = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}".rstrip(": ")
    return HubUnavailable(hub_id, cause, detail[:300], hints[cause])


def hub_reads(source, local: bool = False) -> list[HubRead]:
    """Every hub read ``source`` makes in a build (``local``: its rows come from a local ``path:``).

    A source reads its own ``hub_id`` (unless local), or declares ``hub_reads`` when it reads
    several files one by one or another repo too (cinematika, airoboros).
    """
    if source.hub_reads is not None:
        return source.hub_reads(source, local)
    return [] if local or source.hub_id is None else [own_read(source)]


def own_read(source) -> HubRead:
    """The read of the source's own declaration: its hub id, revision, config, split and data files."""
    return HubRead(source.hub_id, source.revision, source.hub_config, source.split, source.data_files)
