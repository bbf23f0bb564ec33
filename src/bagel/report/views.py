"""``write_views``: report.html and README.md from the files a build wrote (no recomputation)."""

from __future__ import annotations

import json
from pathlib import Path

from bagel.errors import UserError
from bagel.log import logger
from bagel.atomic import atomic_write_bytes
from bagel.report.card import render_card
from bagel.report.page import EXAMPLES_PER_FORMAT, render_html
from bagel.report.stats import TableStats, count_tokens, scan
from bagel.tokens import TokenCounter, load_tokenizer

OUTPUTS = ("report.json", "sft.parquet", "dpo.parquet")
TOKEN_SAMPLE = 256  # rows per source and per format whose tokens are counted
EXAMPLE_POOL = 32  # rows per format to pick the example rows from


def _token_counter(path: str | None) -> TokenCounter | None:
    """A counter with the recipe's tokenizer, loaded offline, or None (not configured, or not loadable here)."""
    if not path:
        return None
    try:
        return TokenCounter(path, load_tokenizer(path, local_files_only=True))
    except UserError as err:
        logger.warning("report: no token lengths, %s", err)
        return None


def read_tables(out_dir: Path, sources: list[str], tokenizer=None) -> dict[str, TableStats]:
    """Length histograms and samples of ``sft.parquet`` and ``dpo.parquet`` (token lengths with ``tokenizer``),
    rows grouped under the ``sources`` names."""
    per_source = TOKEN_SAMPLE if tokenizer is not None else 0
    per_format = max(EXAMPLE_POOL, per_source, EXAMPLES_PER_FORMAT)
    sizes = {"source": per_source, "format": per_format}
    tables = {kind: scan(Path(out_dir) / f"{kind}.parquet", kind, sizes, sources) for kind in ("sft", "dpo")}
    if tokenizer is not None:
        for stats in tables.values():
            count_tokens(stats, tokenizer)
    return tables


def write_views(out_dir: Path, tokenizer_path: str | None = None) -> None:
    """Write report.html and the dataset card README.md from the build outputs in ``out_dir``.

    The tokenizer of the token lengths is loaded from ``tokenizer_path`` (the build passes the recipe's),
    else from the path the report names (relative to the recipe: absolute paths do not leave the machine).
    """
    out_dir = Path(out_dir)
    missing = [name for name in OUTPUTS if not (out_dir / name).is_file()]
    if missing:
        raise UserError(f"{out_dir} is not a build output dir: missing {', '.join(missing)}")
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    shown_path = report["recipe_config"].get("format", {}).get("tokenizer")
    tokenizer = _token_counter(tokenizer_path or shown_path)
    tables = read_tables(out_dir, sorted(report["sources"]), tokenizer)
    note = (f"tokenizer {shown_path}, no special tokens added, on a sample of up to {TOKEN_SAMPLE} rows per "
            "source and per format (smallest ids)") if tokenizer is not None else None
    atomic_write_bytes(out_dir / "report.html", render_html(report, tables, note).encode("utf-8"))
    atomic_write_bytes(out_dir / "README.md", render_card(report).encode("utf-8"))
    logger.info("wrote %s and %s", out_dir / "report.html", out_dir / "README.md")
