"""One logger for the package, and progress bars that respect ``--quiet`` and non-TTY output."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

logger = logging.getLogger("bagel")

T = TypeVar("T")

_state = {"quiet": False}


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is now (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """Set up the ``bagel`` logger once (stderr, one line per message)."""
    _state["quiet"] = quiet
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    logger.setLevel(level)
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.propagate = False


def is_quiet() -> bool:
    """Whether ``--quiet`` was given (worker processes are configured the same way)."""
    return _state["quiet"]


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "rows") -> Iterator[T]:
    """Wrap ``items`` in a progress bar showing rate; silent with ``--quiet``.

    On a terminal the bar redraws in place; elsewhere (CI logs) tqdm prints a plain
    line at most every 10 seconds, so logs stay readable.
    """
    tty = sys.stderr.isatty()
    return tqdm(
        items,
        desc=desc,
        total=total,
        unit=unit,
        unit_scale=True,
        disable=_state["quiet"],
        mininterval=0.2 if tty else 10.0,
        dynamic_ncols=tty,
        leave=True,
        file=sys.stderr,
    )


def progress_batches(batches: Iterable[list], desc: str) -> Iterator[list]:
    """Pass ``batches`` through, showing a bar that counts their rows (rows/s)."""
    bar = progress(iter(()), desc=desc)
    try:
        for batch in batches:
            bar.update(len(batch))
            yield batch
    finally:
        bar.close()
