"""Every bagel module imports, and no two bagel modules import each other, directly or through others.

The import graph is the one step cache keys are computed from (:func:`bagel.pipeline.code.import_graph`):
every ``import`` statement, also those inside functions, which run later but still tie the modules together.
"""

from __future__ import annotations

import importlib

from bagel.pipeline.code import import_graph


def cycles(graph: dict) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_bagel_modules():
    graph = import_graph()
    assert "bagel.pipeline.build" in graph["bagel.cli"]  # imports inside functions count too
    assert cycles(graph) == []


def test_the_report_imports_nothing_from_the_engine():
    graph = import_graph()
    report = [name for name in graph if name.startswith("bagel.report")]
    assert {dep for name in report for dep in graph[name] if dep.startswith("bagel.pipeline")} == set()


def test_every_module_imports():
    for name in import_graph():
        importlib.import_module(name)
