"""One build per out dir: ``<out>/.bagel-build.lock`` holds the running build's pid, host and start time.

The lock is an ``flock`` on that file, so the kernel releases it when its build ends, however it
ends: a lock file left by a killed build holds no lock and the next build takes it over (with a
warning naming the old pid). A build that finds the lock held exits with one line naming its
holder. Two builds writing the same cache entries at once would rename each other's ``.tmp``
files away (a ``FileNotFoundError`` mid-build).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from bagel.errors import UserError
from bagel.log import logger

LOCK_NAME = ".bagel-build.lock"


def _holder(text: str) -> dict | None:
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return None
    return holder if isinstance(holder, dict) else None


def _describe(holder: dict | None) -> str:
    if not holder:
        return "pid unknown"
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}"


@contextmanager
def out_dir_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s build lock while the block runs; a :class:`UserError` when another build holds it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):  # a file system without locks: build unlocked
                logger.warning("cannot lock %s (%s); make sure no other build uses this out dir", path, err)
                yield
                return
            handle.seek(0)
            raise UserError(f"out dir {out_dir} is in use by another build ({_describe(_holder(handle.read()))}); "
                            "wait for it or build into another --out") from None
        handle.seek(0)
        stale = _holder(handle.read())
        if stale:
            logger.warning("taking over the stale lock of build pid %s on %s (started %s), which is not running",
                           stale.get("pid"), stale.get("host"), stale.get("started"))
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _rewrite(handle, json.dumps(me) + "\n")
        try:
            yield
        finally:
            _rewrite(handle, "")  # the lock itself goes with the file handle


def _rewrite(handle, text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()
