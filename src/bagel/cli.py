"""The ``bagel`` command line: one small function per command, each delegating to its module.

Errors a user can fix (bad recipe, missing file, unknown name) are raised as
:class:`bagel.errors.UserError` and printed as one line with exit code 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

from bagel import log
from bagel.errors import UserError

app = typer.Typer(
    help="Build a clean multi-format instruction-tuning mix (SFT + DPO) and fine-tune on it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors; no progress bars.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """bagel: a bagel, with everything."""
    log.configure(quiet=quiet, verbose=verbose)


def user_errors(fn: Callable) -> Callable:
    """Turn a :class:`UserError` into a one-line message on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper


# --- build -------------------------------------------------------------------------------------


@app.command()
@user_errors
def build(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML.")],
    out: Annotated[Optional[Path], typer.Option(help="Output dir (default out/<recipe name>).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Override the recipe seed.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes for the local engine.")] = 1,
    engine: Annotated[str, typer.Option(help="local or ray.")] = "local",
) -> None:
    """Build the mix described by RECIPE: load, convert, dedup, filter, decontaminate, render, write."""
    from bagel.config import load_recipe
    from bagel.pipeline.build import run_build
    from bagel.report import print_summary

    cfg = load_recipe(recipe)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    out_dir = out or Path("out") / cfg.name
    report = run_build(cfg, out_dir, workers=workers, engine=engine)
    print_summary(report)


@app.command()
def sources() -> None:
    """List the registered sources: name, kind, confidence, hub id."""
    from bagel.sources import print_sources

    print_sources()


# --- formats -----------------------------------------------------------------------------------


@app.command("format")
@user_errors
def format_records(
    records: Annotated[Path, typer.Argument(help="records.parquet or .jsonl of unified records.")],
    out: Annotated[Path, typer.Option(help="Output dir for sft.parquet and dpo.parquet.")],
    mode: Annotated[Optional[str], typer.Option(help="every, slices or random.")] = None,
    formats: Annotated[Optional[str], typer.Option(help="Comma-separated, e.g. alpaca,vicuna,chatml,llama2.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every per-item choice.")] = 42,
    bos: Annotated[Optional[str], typer.Option(help="BOS string.")] = None,
    eos: Annotated[Optional[str], typer.Option(help="EOS string.")] = None,
    tokenizer: Annotated[Optional[str], typer.Option(help="Local tokenizer dir to read BOS/EOS from.")] = None,
    chatml_markers: Annotated[bool, typer.Option(help="Real <|im_start|>/<|im_end|> chatml markers.")] = False,
) -> None:
    """Render a records file into sft.parquet / dpo.parquet in the chosen prompt formats."""
    from bagel.formats.files import format_file
    from bagel.formats.options import options_from_flags

    options = options_from_flags(
        mode=mode,
        formats=formats.split(",") if formats else None,
        bos=bos,
        eos=eos,
        tokenizer=tokenizer,
        chatml_markers=chatml_markers,
    )
    sft, dpo, dropped = format_file(records, out, options, seed)
    for table, counts in (("sft", sft), ("dpo", dpo), ("dropped", dropped)):
        detail = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        typer.echo(f"{table}: {sum(counts.values())}" + (f" ({detail})" if detail else ""))


@app.command("chat-template")
@user_errors
def chat_template(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="alpaca, vicuna, chatml or llama2.")],
    bos: Annotated[str, typer.Option(help="BOS string.")] = "<s>",
    eos: Annotated[str, typer.Option(help="EOS string.")] = "</s>",
    chatml_markers: Annotated[bool, typer.Option(help="Real <|im_start|>/<|im_end|> chatml markers.")] = False,
) -> None:
    """Print the Jinja chat template of FORMAT (for tokenizer_config.json)."""
    from bagel.formats import chat_template as template

    typer.echo(template(fmt, bos=bos, eos=eos, chatml_markers=chatml_markers))


@app.command()
@user_errors
def render(
    fmt: Annotated[str, typer.Option("--format", help="alpaca, vicuna, chatml or llama2.")],
    system: Annotated[Optional[str], typer.Option(help="System prompt (replaces any in the conversation).")] = None,
    bos: Annotated[str, typer.Option(help="BOS string.")] = "<s>",
    eos: Annotated[str, typer.Option(help="EOS string.")] = "</s>",
    chatml_markers: Annotated[bool, typer.Option(help="Real <|im_start|>/<|im_end|> chatml markers.")] = False,
) -> None:
    """Print the prompt for a conversation read as JSON from stdin (list of {from,value} or {role,content})."""
    import json

    from bagel.formats import render_prompt

    try:
        conversation = json.loads(sys.stdin.read())
    except json.JSONDecodeError as err:
        raise UserError(f"stdin is not JSON: {err}") from None
    if not isinstance(conversation, list) or not all(isinstance(turn, dict) for turn in conversation):
        raise UserError("stdin must hold a JSON list of {from, value} or {role, content} objects")
    if system is not None:
        conversation = [{"from": "system", "value": system}] + [
            turn for turn in conversation if turn.get("from", turn.get("role")) != "system"
        ]
    typer.echo(render_prompt(conversation, fmt, bos=bos, eos=eos, chatml_markers=chatml_markers), nl=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
