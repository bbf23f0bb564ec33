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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
