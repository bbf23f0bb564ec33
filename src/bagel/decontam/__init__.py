"""Benchmark decontamination: n-gram containment and embedding similarity against benchmark items."""

from bagel.decontam.detector import Decontaminator
from bagel.decontam.options import DecontamOptions

__all__ = ["DecontamOptions", "Decontaminator"]
