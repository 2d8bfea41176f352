"""Rebuilding the read models in parallel (`minhbach projections rebuild --workers N`).

Each projection has its own tracking position and its own advisory lock (projections/runner.py),
so the projections can be split into groups, each rebuilt in a transaction of its own: this
process rebuilds the first group, and a spawned worker process each of the others. Every group
fetches only the events of the topics it reads, and decodes only those its projections need
decoded (the Merkle tree needs none). On PostgreSQL the groups' transactions run side by side; on
SQLite, which allows one writer, they would take turns, so a SQLite store is rebuilt by one worker.

A group that fails leaves its own read models as they were (its transaction rolls back); the
groups that succeeded keep their new rows. Each projection is then still consistent with its
own position, and the failed ones are named.
"""

from __future__ import annotations

import atexit
import concurrent.futures as futures
import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings
from projections.read_models import all_projections, select_projections
from projections.runner import Runner

log = logging.getLogger(__name__)
# What rebuilding each projection costs, in CPU milliseconds (this process's and PostgreSQL's)
# per 1,000 events of the generated log, beyond fetching and decoding the events it reads:
# measured with bench/rebuild.py's log (20,000 events) on 2 vCPUs, one projection at a time
# (wall time, the machine otherwise idle, less about half of DECODING for those that decode).
# The Merkle tree's includes fetching every event (it decodes none). A projection missing here
# counts 1. Traces, needs and proposals have no events in that log: theirs are guesses.
COSTS = {"merkle": 24.0, "donations": 13.0, "balances": 12.0, "bank": 4.7, "after_closing": 3.7,
         "traces": 2.5, "children": 1.0, "needs": 1.0, "proposals": 0.5}
# Fetching and decoding the events, once per group with a projection that needs them decoded.
DECODING = 11.0
# A spawned worker's start-up (interpreter, imports, opening the store), in milliseconds: the
# worker that pays it gets that much less work.
START_UP_MS = 600.0


def _decodes(name: str) -> bool:
    return next((p.decodes for p in all_projections() if p.name == name), True)


def split(names: Sequence[str], workers: int, *, events: int = 0) -> list[list[str]]:
    """The projections in `workers` groups, none empty, that finish together as nearly as the
    costs say, with as little work done twice (decoding) as that allows. The first group is
    rebuilt by this process; the others start START_UP_MS later, which over a log of `events`
    events is a cost per 1,000 events like COSTS (0: not counted)."""
    count = max(1, min(workers, len(names)))
    late = START_UP_MS * 1000 / events if events else 0.0
    decoding = {n: _decodes(n) for n in names}

    def load(i: int, group: list[str]) -> float:
        return ((late if i else 0.0) + sum(COSTS.get(n, 1.0) for n in group)
                + (DECODING if any(decoding[n] for n in group) else 0.0))

    def score(groups: list[list[str]]) -> tuple[float, float]:
        loads = [load(i, g) for i, g in enumerate(groups)]
        return max(loads), sum(loads)

    # The costliest first, each to the group that would finish first with it ...
    groups: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(names, key=lambda n: (-COSTS.get(n, 1.0), n)):
        empty = [i for i, g in enumerate(groups) if not g]
        best = min(empty or range(count), key=lambda i: load(i, [*groups[i], name]))
        groups[best].append(name)
    # ... then single moves while they make the slowest group faster, or the same work less.
    while better := next((m for m in _moves(groups) if score(m) < score(groups)), None):
        groups = better
    return groups


def _moves(groups: list[list[str]]) -> Iterator[list[list[str]]]:
    """Every grouping made by moving one projection to another group, leaving none empty."""
    for source, group in enumerate(groups):
        for name in group if len(group) > 1 else ():
            for target in range(len(groups)):
                if target != source:
                    moved = [[n for n in g if n != name] for g in groups]
                    moved[target].append(name)
                    yield moved


_services: CompositionRoot | None = None  # a worker's store, opened when it starts
_all_started: Any = None  # a barrier for all the workers of one pool


def open_in_worker(settings: dict[str, Any]) -> CompositionRoot:
    """The store, opened by a worker process as it starts (of a rebuild or of `audit verify`),
    closed when it exits."""
    # A worker reads the log one page at a time: one connection per pool, not a server's ten.
    services = build(Settings(**settings), connections=1)
    atexit.register(services.close)
    return services


def _worker(settings: dict[str, Any], barrier: Any) -> None:
    global _services, _all_started
    _all_started = barrier
    _services = open_in_worker(settings)


def _ready() -> None:
    # Returns once every worker of the pool has started and opened its store: each waits here
    # for the others, so no two of these calls run in the same process.
    _all_started.wait()


def _rebuild_group(names: list[str]) -> int:
    assert _services is not None, "a rebuild worker without its store"
    return _rebuild(_services, names)


def _rebuild(services: CompositionRoot, names: list[str]) -> int:
    # A runner of its own: the caller's `services.runner` is left as it was.
    return Runner(services.db, services.ledger,
                  select_projections(all_projections(), names)).rebuild()


@contextmanager
def started_workers(settings: Settings, count: int, *, wait: bool = True,
                    ) -> Iterator[futures.ProcessPoolExecutor]:
    """`count` spawned worker processes that open the store as they start, for
    `rebuild_in_parallel`. With `wait`, every one has started when this returns, so that their
    start-up is not part of the rebuild (as with `minhbach project` workers, which run all the
    time)."""
    count = max(1, count)
    # Spawned, not forked: the parent's threads, pools and connections stay in the parent.
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(count, mp_context=context, initializer=_worker, initargs=(
            settings.model_dump(), context.Barrier(count))) as pool:
        if wait:
            for ready in [pool.submit(_ready) for _ in range(count)]:
                ready.result()
        yield pool


def rebuild_in_parallel(settings: Settings, names: Sequence[str], workers: int,
                        done: Callable[[list[str], int], None] | None = None, *,
                        services: CompositionRoot | None = None,
                        pool: futures.ProcessPoolExecutor | None = None) -> int:
    """Rebuild these projections in `workers` groups, the first in this process (with
    `services`, if given, else its own), the others in the processes of `pool` (from
    `started_workers(settings, workers - 1)`; else started here, their start-up included);
    returns the position they reached (the log's head, see Runner.rebuild). Raises the first
    failure once every group has finished (each is logged)."""
    own = None
    if services is None:
        # Opened before any worker starts, so not at the same time as theirs.
        services = own = build(settings)
    try:
        if pool is not None:
            return _run(services, split(names, workers), pool, done)
        # The workers start while this process rebuilds its group: `split` gives them less work.
        groups = split(names, workers, events=services.ledger.recorder.max_notification_id() or 0)
        with started_workers(settings, len(groups) - 1, wait=False) as started:
            return _run(services, groups, started, done)
    finally:
        if own is not None:
            own.close()


def _run(services: CompositionRoot, groups: list[list[str]], pool: futures.ProcessPoolExecutor,
         done: Callable[[list[str], int], None] | None) -> int:
    failures: list[BaseException] = []
    reached = 0

    def finished(group: list[str], result: Callable[[], int]) -> None:
        nonlocal reached
        try:
            reached = result()
        except Exception as exc:
            log.error("rebuild of %s failed: %s: %s", ", ".join(group), type(exc).__name__, exc)
            failures.append(exc)
            return
        if done:
            done(group, reached)

    running = {pool.submit(_rebuild_group, group): group for group in groups[1:]}
    # Meanwhile this process rebuilds the first group.
    finished(groups[0], lambda: _rebuild(services, groups[0]))
    for future in futures.as_completed(running):
        finished(running[future], future.result)
    if failures:
        raise failures[0]
    return reached
