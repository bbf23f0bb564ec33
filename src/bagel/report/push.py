"""``bagel push``: upload a build's outputs (not its cache) to a Hugging Face dataset repo."""

from __future__ import annotations

from pathlib import Path

from bagel.errors import UserError
from bagel.log import logger

FILES = ("README.md", "report.html", "report.json", "records.parquet", "sft.parquet", "dpo.parquet",
         "decontamination.jsonl")


def push(out_dir: Path, repo_id: str, private: bool = False) -> str:
    """Create the dataset repo ``repo_id`` (if needed) and upload the build outputs; returns the commit URL.

    Needs network and a Hugging Face token (``hf auth login`` or ``HF_TOKEN``); without either
    it raises a :class:`UserError`.
    """
    import httpx
    import huggingface_hub
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    out_dir = Path(out_dir)
    missing = [name for name in FILES if not (out_dir / name).is_file()]
    if missing:
        raise UserError(f"{out_dir} is not a complete build output dir: missing {', '.join(missing)}")
    if huggingface_hub.constants.is_offline_mode():
        raise UserError("bagel push needs network, but HF_HUB_OFFLINE is set")
    token = huggingface_hub.get_token()
    if not token:
        raise UserError("bagel push needs a Hugging Face token: run `hf auth login` or set HF_TOKEN")
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=out_dir, repo_id=repo_id, repo_type="dataset",
                                   allow_patterns=list(FILES), commit_message="Upload bagel build")
    except (HfHubHTTPError, OfflineModeIsEnabled) as err:
        raise UserError(f"push to {repo_id} failed: {str(err).splitlines()[0]}") from None
    except (httpx.TransportError, OSError) as err:  # connection refused, DNS failure, timeouts
        raise UserError(f"bagel push needs network; cannot reach the Hugging Face hub: {err}") from None
    logger.info("pushed %s to https://huggingface.co/datasets/%s", out_dir, repo_id)
    return str(commit)
