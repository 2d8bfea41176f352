"""Rebuilding the read models in parallel worker processes: each projection has a lock of its
own, so runners of other projections go on beside one; the split covers every projection once;
and a rebuild by two workers leaves exactly what a replay of the log gives (`audit verify`)."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg

from bench.generate import Generator
from ledger.audit import verify
from ledger.rebuild import COSTS, rebuild_in_parallel, split
from projections.read_models import all_projections
from projections.runner import PROJECTION_LOCKS, Runner, lock_key
from tests.conftest import make_services

NAMES = [p.name for p in all_projections()]


def test_the_split_covers_every_projection_once_and_balances_the_cost() -> None:
    for workers in range(1, len(NAMES) + 3):
        groups = split(NAMES, workers)
        assert sorted(n for g in groups for n in g) == sorted(NAMES)
        assert len(groups) == min(workers, len(NAMES)) and all(groups)
    two = split(NAMES, 2)
    loads = [sum(COSTS.get(n, 1.0) for n in g) for g in two]
    assert max(loads) - min(loads) <= max(COSTS.values())
    assert set(COSTS) == set(NAMES)  # a new projection gets its measured cost


def test_the_spawned_workers_get_less_the_shorter_the_log() -> None:
    """They start START_UP_MS after this process: over a short log that is most of the work."""
    def spawned(events: int) -> float:
        return sum(COSTS[n] for g in split(NAMES, 2, events=events)[1:] for n in g)

    assert spawned(2_000) < spawned(20_000) <= spawned(0)
    assert all(split(NAMES, 2, events=1)[1])  # but none is left without work


def test_a_runner_locks_only_its_own_projections(pg_url: str, tmp_path: Path) -> None:
    services = make_services(pg_url, tmp_path / "data")
    try:
        mine = [p for p in all_projections() if p.name in ("balances", "traces")]
        runner = Runner(services.db, services.ledger, mine)
        holding, release = threading.Event(), threading.Event()

        def hold() -> None:
            with runner._transaction():
                holding.set()
                release.wait(30)

        worker = threading.Thread(target=hold)
        worker.start()
        try:
            assert holding.wait(30)
            with psycopg.connect(pg_url, autocommit=True) as other:
                def free(name: str) -> bool:
                    row = other.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                        (PROJECTION_LOCKS, lock_key(name))).fetchone()
                    if row and row[0]:
                        other.execute("SELECT pg_advisory_unlock(%s, %s)",
                                      (PROJECTION_LOCKS, lock_key(name)))
                    return bool(row and row[0])

                assert not free("balances") and not free("traces")
                assert all(free(n) for n in NAMES if n not in ("balances", "traces"))
        finally:
            release.set()
            worker.join(30)
        assert len({lock_key(n) for n in NAMES}) == len(NAMES)
    finally:
        services.close()


def test_two_workers_rebuild_what_a_replay_gives(pg_url: str, tmp_path: Path) -> None:
    services = make_services(pg_url, tmp_path / "data")
    try:
        communes = [a for a in services.areas.all() if a.kind == "commune"]
        Generator(services.ledger, communes).run(3000)
        services.runner.catch_up()
        head = services.ledger.recorder.max_notification_id() or 0
        with services.db.write() as cur:  # damage one table of each group: the rebuild mends it
            cur.execute("DELETE FROM public_donations")
            cur.execute("UPDATE fund_balances SET received_vnd = received_vnd + 1")
        done: list[tuple[list[str], int]] = []
        count = rebuild_in_parallel(services.settings, NAMES, 2,
                                    done=lambda group, n: done.append((group, n)))
        assert count == head and sorted(n for g, _ in done for n in g) == sorted(NAMES)
        assert all(n == head for _, n in done) and len(done) == 2
        assert services.runner.positions() == {n: head for n in NAMES}
        report = verify(services)
        assert report.ok, report.problems
    finally:
        services.close()
