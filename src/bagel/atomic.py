"""Atomic file writes: a temp file beside the target, flushed to disk, then renamed into place.

A killed process leaves at most a ``*.tmp`` file behind, never a half-written target. Shared by the
build (step cache, outputs), the report views and the recipe lock file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj) -> None:
    """Write ``obj`` as indented JSON (keys in insertion order), atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode())
