"""Benchmark registry: the evaluation sets kept out of the training mix, and their loaders."""

from bagel.benchmarks.base import Benchmark, BenchmarkItems, HubSource
from bagel.benchmarks.registry import REGISTRY, BenchmarkEntry, available_offline, load_benchmark, parse_entry

__all__ = [
    "REGISTRY",
    "Benchmark",
    "BenchmarkEntry",
    "BenchmarkItems",
    "HubSource",
    "available_offline",
    "load_benchmark",
    "parse_entry",
]
