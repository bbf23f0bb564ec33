"""``bagel push``: clear user errors without network or token; the right hub calls otherwise (all faked)."""

from __future__ import annotations

import httpx
import huggingface_hub
import pytest
from typer.testing import CliRunner

from bagel.cli import app
from bagel.errors import UserError
from bagel.report import write_views
from bagel.report.push import FILES, push

runner = CliRunner()


class FakeApi:
    """Records the calls bagel push makes; ``fail`` is raised by create_repo when set."""

    calls: list = []
    fail: Exception | None = None

    def __init__(self, token):
        self.calls.append(("init", token))

    def create_repo(self, repo_id, **kwargs):
        if self.fail is not None:
            raise self.fail
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))
        return "https://huggingface.co/datasets/me/mix/commit/abc"


@pytest.fixture
def online(monkeypatch, build_dir):
    """The build dir with its views, a token, no offline mode, and :class:`FakeApi` instead of HfApi."""
    write_views(build_dir)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_test")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setattr(FakeApi, "calls", [])
    monkeypatch.setattr(FakeApi, "fail", None)
    return build_dir


def test_push_uploads_the_outputs_not_the_cache(online):
    (online / "cache").mkdir()
    (online / "cache" / "x.parquet").write_bytes(b"cached")
    result = runner.invoke(app, ["push", str(online), "me/mix", "--private"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "https://huggingface.co/datasets/me/mix/commit/abc\n"
    assert FakeApi.calls == [
        ("init", "hf_test"),
        ("create_repo", "me/mix", {"repo_type": "dataset", "private": True, "exist_ok": True}),
        ("upload_folder", {"folder_path": online, "repo_id": "me/mix", "repo_type": "dataset",
                           "allow_patterns": list(FILES), "commit_message": "Upload bagel build"}),
    ]


def test_push_offline_is_a_user_error(build_dir, monkeypatch):
    write_views(build_dir)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    result = runner.invoke(app, ["push", str(build_dir), "me/mix"])
    assert result.exit_code == 2
    assert result.output == "error: bagel push needs network, but HF_HUB_OFFLINE is set\n"


def test_push_without_token_is_a_user_error(online, monkeypatch):
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(UserError, match="needs a Hugging Face token"):
        push(online, "me/mix")


def test_push_without_network_is_a_user_error(online, monkeypatch):
    monkeypatch.setattr(FakeApi, "fail", httpx.ConnectError("[Errno -3] Temporary failure in name resolution"))
    with pytest.raises(UserError, match="needs network; cannot reach the Hugging Face hub: .Errno -3"):
        push(online, "me/mix")


def test_push_needs_a_complete_build(build_dir):
    with pytest.raises(UserError, match="missing README.md, report.html$"):
        push(build_dir, "me/mix")
