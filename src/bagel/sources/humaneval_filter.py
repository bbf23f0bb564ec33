"""The HumanEval solution filter shared by apps, python_alpaca and rosetta_code."""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources

from bagel.sources.base import Skip


@cache
def canonical_solutions() -> tuple[str, ...]:
    """The ``canonical_solution`` of each of the 164 HumanEval problems bundled with the package."""
    path = resources.files("bagel") / "data" / "humaneval.jsonl.gz"
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return tuple(json.loads(line)["canonical_solution"] for line in lines if line.strip())


def skip_if_humaneval(solution: str, solutions: tuple[str, ...] | list[str] | None = None) -> None:
    """Raise :class:`Skip` when ``solution`` contains, or is contained in, a HumanEval solution (the bundled
    :func:`canonical_solutions` unless ``solutions`` are given)."""
    for canonical in canonical_solutions() if solutions is None else solutions:
        if canonical in solution or solution in canonical:
            raise Skip("humaneval_solution")
