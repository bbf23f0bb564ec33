"""The Ray executor: the units of :mod:`bagel.pipeline.tasks`, the same the local executor runs, as Ray tasks.

- convert: one task per shard of every source (files, parquet row groups); join + sample: one
  task per source;
- dedup: ids hash-partitioned (:mod:`bagel.pipeline.partitioned_dedup`): one task per source and
  per exclude set splits its id hashes, one task per partition applies the priority rule and the
  exclude sets, one task per source writes its output; no process holds all ids. Near dedup, in the
  same partitions (:func:`bagel.pipeline.partitioned_dedup.partitioned_near`): one task per file splits its live
  rows' band keys, one task per partition keeps the keys several rows share, and one task applies
  the local rule in load order over those rows only;
- mix (weighted shares, a global choice over hashes and lengths): one task;
- trim: one task per source; decontam: one task per shard (row groups of the trimmed rows; the
  benchmark indexes are built by one task first, then loaded by every worker from the step cache),
  then one task per source joins its shards; render: one task per shard of the mixed rows.

Every task reads its inputs from and writes its output to the step cache in the out dir, and
returns only counts and paths: the driver carries no rows. The outputs are then assembled in load
order from those files, so they are byte for byte the local engine's.

Ray is started locally with ``--workers`` CPUs, listening on a loopback address only, unless
``RAY_ADDRESS`` names a cluster (``ray start --head`` on one node, ``ray start --address=HEAD:PORT``
on the others); the out dir must then be on storage that every node sees at the same path (NFS,
a mounted bucket), and every node needs bagel installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from bagel import log
from bagel.config import Recipe
from bagel.memory import use_returning_memory_pool
from bagel.pipeline.partitioned_dedup import partitioned_dedup
from bagel.pipeline.tasks import run_steps

LOCAL_NODE_IP = "127.0.0.2"  # where a build-started Ray listens
_CONFIGURED: list[bool] = []


def _start(workers: int):
    import ray

    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        # Without RAY_ADDRESS the build starts a Ray of its own ("local": never whatever cluster a past
        # `ray start` left recorded in /tmp/ray) that listens on a loopback address only; Ray rewrites
        # 127.0.0.1 to the machine's interface address, so another address of the loopback range is used.
        local = {} if address else {"address": "local", "num_cpus": workers, "_node_ip_address": LOCAL_NODE_IP}
        ray.init(**({"address": address} | local), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    return ray


def _call(quiet: bool, fn: Callable, *args):
    """Run one unit in a Ray worker (the worker's logging and memory pool set up at its first unit)."""
    if not _CONFIGURED:
        log.configure(quiet)
        use_returning_memory_pool()
        _CONFIGURED.append(True)
    return fn(*args)


def _mapper(ray) -> Callable:
    """An executor map over Ray tasks: ``fn(*args)`` for each args, one CPU each, results in order."""
    remote = ray.remote(num_cpus=1)(_call)
    quiet = log.is_quiet()

    def run(fn: Callable, args: list[tuple]) -> list:
        return ray.get([remote.remote(quiet, fn, *a) for a in args])

    return run


def execute_ray(recipe: Recipe, names: list[str], root: Path, workers: int, memory_budget: int) -> tuple:
    """Run every step as Ray tasks; the step results and timings, as the local executor returns them."""
    ray = _start(workers)
    run = _mapper(ray)
    partitions = max(2, int(ray.cluster_resources().get("CPU", workers)))

    return run_steps(recipe, names, root, run,
                     lambda ordered: partitioned_dedup(recipe, ordered, root, partitions, run), parallel=True)
