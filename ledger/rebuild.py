"""Rebuilding the read models in parallel worker processes (`minhbach projections rebuild
--workers N`).

Each projection has its own tracking position and its own advisory lock (projections/runner.py),
so the projections can be split into groups, each rebuilt by a process of its own in a
transaction of its own: every worker reads and decodes the whole log, and applies it to its
group only. On PostgreSQL the groups' transactions run side by side; on SQLite, which allows
one writer, they would take turns, so a SQLite store is rebuilt by one worker.

A group that fails leaves its own read models as they were (its transaction rolls back); the
groups that succeeded keep their new rows. Each projection is then still consistent with its
own position, and the failed ones are named.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from ledger.bootstrap import build
from ledger.settings import Settings
from projections.read_models import all_projections, select_projections

log = logging.getLogger(__name__)
# The relative cost of rebuilding each projection, measured with `make bench` (figure b) on the
# generated log: what the split balances. A projection missing here counts 1.
COSTS = {"merkle": 4.0, "donations": 4.0, "balances": 2.5, "traces": 2.0, "children": 1.0,
         "needs": 0.5, "bank": 0.5, "proposals": 0.3, "after_closing": 0.3}


def split(names: Sequence[str], workers: int) -> list[list[str]]:
    """The projections in `workers` groups of about equal cost (the costliest first, each to the
    lightest group so far), none empty."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(workers, len(names))))]
    loads = [0.0] * len(groups)
    for name in sorted(names, key=lambda n: (-COSTS.get(n, 1.0), n)):
        lightest = loads.index(min(loads))
        groups[lightest].append(name)
        loads[lightest] += COSTS.get(name, 1.0)
    return groups


_starting: Any = None  # a worker's lock on start-up, shared by all workers of one rebuild


def _worker(lock: Any) -> None:
    global _starting
    _starting = lock


def _rebuild_group(settings: dict[str, Any], names: list[str]) -> int:
    # One worker at a time opens the store: the event store's CREATE TABLE IF NOT EXISTS and
    # the migrations' checks, run at once by two processes, collide in PostgreSQL's catalog.
    with _starting:
        services = build(Settings(**settings))
    try:
        services.runner.projections = select_projections(all_projections(), names)
        return services.runner.rebuild()
    finally:
        services.close()


def rebuild_in_parallel(settings: Settings, names: Sequence[str], workers: int,
                        done: Callable[[list[str], int], None] | None = None) -> int:
    """Rebuild these projections in `workers` processes; the events read by each (the log's
    length). Raises the first failure once every worker has finished (each is logged)."""
    groups = split(names, workers)
    kwargs = settings.model_dump()
    # Spawned, not forked: the parent's threads, pools and connections stay in the parent.
    context = multiprocessing.get_context("spawn")
    failures: list[BaseException] = []
    count = 0
    with futures.ProcessPoolExecutor(len(groups), mp_context=context, initializer=_worker,
                                     initargs=(context.Lock(),)) as pool:
        running = {pool.submit(_rebuild_group, kwargs, group): group for group in groups}
        for future in futures.as_completed(running):
            try:
                count = future.result()
            except Exception as exc:
                log.error("rebuild of %s failed: %s: %s", ", ".join(running[future]),
                          type(exc).__name__, exc)
                failures.append(exc)
                continue
            if done:
                done(running[future], count)
    if failures:
        raise failures[0]
    return count
