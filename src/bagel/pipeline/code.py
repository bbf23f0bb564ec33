"""The code a step runs: bagel's import graph, read statically from the source (``ast``), and a hash of
the modules a step's module reaches through it.

A step's cache key covers the code of its own module and of every bagel module that module imports,
directly or not (imports inside functions count too), so editing the report, or a later step, leaves
the earlier steps' cache entries valid. ``from package import name`` is an import of the submodule
``package.name`` when that is a module, else of ``package``; a package's ``__init__`` is code of the
modules that import it by name, not of its submodules. Data files (templates, bundled benchmarks) are
not code: what a step reads from them is keyed by the step itself.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

import bagel

PACKAGE = Path(bagel.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                         for alias in node.names)
    return {m for m in found if m in modules and m != name}


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """For each bagel module (dotted name), the bagel modules it imports."""
    modules = _modules()
    return {name: frozenset(_imports(name, path, modules)) for name, path in modules.items()}


def closure(*roots: str) -> list[str]:
    """``roots`` and every bagel module they import, directly or not (sorted); all modules when no root."""
    graph = import_graph()
    if not roots:
        return sorted(graph)
    seen: set[str] = set()
    todo = [r for r in roots if r in graph]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name] - seen)
    return sorted(seen)


@cache
def code_version(*roots: str) -> str:
    """A hash of the source of :func:`closure` of ``roots`` (of the whole package when none is given)."""
    modules = _modules()
    digest = hashlib.blake2b(digest_size=8)
    for name in closure(*roots):
        digest.update(name.encode() + b"\0")
        digest.update(modules[name].read_bytes())
    return digest.hexdigest()


def module_of(fn) -> str | None:
    """The module that defines ``fn`` (through ``functools.partial``), or None."""
    return getattr(getattr(fn, "func", fn), "__module__", None)
