"""A fake Hugging Face hub for offline tests: records what ``datasets.load_dataset`` and
``HfApi.dataset_info`` are asked for, serves rows from local fixture files, or raises the
hub's real error classes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import datasets
import httpx
import huggingface_hub
from datasets.exceptions import DatasetNotFoundError
from huggingface_hub.errors import GatedRepoError, OfflineModeIsEnabled, RepositoryNotFoundError, RevisionNotFoundError

from bagel.sources.io import read_local

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
LOAD_DATASET = datasets.load_dataset  # the real one, for data sets served as streamed local parquet


def fake_sha(hub_id: str, ref: str | None, salt: str = "") -> str:
    """A made-up, deterministic 40-hex commit for ``hub_id`` at ``ref`` (tests only, never a real one)."""
    return hashlib.sha1(f"{salt}{hub_id}@{ref or 'main'}".encode()).hexdigest()


def response(status: int, url: str = "https://huggingface.co/api/datasets/x") -> httpx.Response:
    """An httpx response as the hub client would have got it."""
    return httpx.Response(status, request=httpx.Request("GET", url))


# each way a hub read fails, built from the installed libraries' own classes (as load_dataset raises them)
ERRORS = {
    "gated": lambda hub_id: GatedRepoError(f"401 Client Error. Cannot access gated repo {hub_id}.",
                                           response=response(401)),
    "gated_via_datasets": lambda hub_id: DatasetNotFoundError(
        f"Dataset '{hub_id}' is a gated dataset on the Hub. You must be authenticated to access it."),
    "missing": lambda hub_id: RepositoryNotFoundError(f"404 Client Error. Repository Not Found for {hub_id}.",
                                                      response=response(404)),
    "missing_via_datasets": lambda hub_id: DatasetNotFoundError(
        f"Dataset '{hub_id}' doesn't exist on the Hub or cannot be accessed."),
    "revision": lambda hub_id: RevisionNotFoundError(f"404 Client Error. Revision Not Found for {hub_id}.",
                                                     response=response(404)),
    "revision_via_datasets": lambda hub_id: DatasetNotFoundError(
        f"Revision 'v9' doesn't exist for dataset '{hub_id}' on the Hub."),
    "offline": lambda hub_id: OfflineModeIsEnabled("Cannot reach the hub: offline mode is enabled."),
    "unreachable_via_datasets": lambda hub_id: ConnectionError(f"Couldn't reach '{hub_id}' on the Hub (ConnectError)"),
    "connect": lambda hub_id: httpx.ConnectError("[Errno -3] Temporary failure in name resolution"),
}
CAUSE = {"gated": "gated", "gated_via_datasets": "gated", "missing": "not_found", "missing_via_datasets": "not_found",
         "revision": "revision_not_found", "revision_via_datasets": "revision_not_found", "offline": "unreachable",
         "unreachable_via_datasets": "unreachable", "connect": "unreachable"}


class FakeHub:
    """Patches ``datasets.load_dataset`` and ``huggingface_hub.HfApi.dataset_info``.

    ``rows``: hub id -> fixture path served for it (others read as empty); ``parquet``: hub id -> local
    parquet files served as the hub serves a split of parquet files, a streamed ``IterableDataset`` (made by
    the real ``load_dataset`` of the files, so it shards by file and by row group as a hub split does);
    ``errors``: hub id -> exception raised when it is loaded; ``salt`` changes every commit the fake
    resolves to.
    """

    def __init__(self, monkeypatch, rows: dict | None = None, errors: dict | None = None, salt: str = "",
                 parquet: dict | None = None):
        self.rows, self.errors, self.salt, self.parquet = rows or {}, errors or {}, salt, parquet or {}
        self.loads: list[dict] = []
        self.infos: list[tuple[str, str | None]] = []
        monkeypatch.setattr(datasets, "load_dataset", self.load_dataset)
        monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", self.dataset_info)

    def load_dataset(self, path, name=None, *, split=None, **kwargs):
        self.loads.append({"hub_id": path, "config": name, "split": split, **kwargs})
        if path in self.errors:
            raise self.errors[path]
        if path in self.parquet:
            files = [str(f) for f in self.parquet[path]]
            return LOAD_DATASET("parquet", data_files={split: files}, split=split, streaming=True)
        fixture = self.rows.get(path)
        rows = [row for batch in read_local(fixture) for row in batch] if fixture else []
        return rows if split is not None else {"train": rows}

    def dataset_info(self, repo_id, *, revision=None, **kwargs):
        self.infos.append((repo_id, revision))
        if repo_id in self.errors:
            raise self.errors[repo_id]
        return SimpleNamespace(id=repo_id, sha=fake_sha(repo_id, revision, self.salt))

    def requests(self) -> list[tuple]:
        """(hub id, revision, config, split, data files) of every load, in order."""
        return [(c["hub_id"], c["revision"], c["config"], c["split"], c.get("data_files")) for c in self.loads]
