"""Processes that start together on one store: a server's workers, a projection worker, a
rebuild's pool. Each opens the store as it starts (the event store's tables and function, the
migrations' checks, the keys in the data directory) and none may fail because another is doing
the same at that moment. Two API workers and a projection worker started by deploy/local.sh
once lost a worker to PostgreSQL's "tuple concurrently updated", and the server stopped."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.sqlite import SQLiteDatastore

from adapters.keys import secret_file
from ledger.bootstrap import build
from ledger.settings import Settings
from projections.db import create_private_sqlite

PROCESSES = 4
ROUNDS = 3  # the first on an empty store (creating), the others on a made one (re-checking)


def _open(url: str, data_dir: str, barrier: Any, answers: Any) -> None:
    barrier.wait()
    try:
        services = build(Settings(database_url=url, data_dir=Path(data_dir), run_projections=False))
    except Exception as error:  # the answer the test reads: which process failed, and how
        answers.put(f"failed: {error!r}")
        return
    try:
        answers.put(secret_file(Path(data_dir) / "service.key", 32).hex())
    finally:
        services.close()


def _start_together(url: str, data_dir: Path) -> list[str]:
    context = multiprocessing.get_context("spawn")
    barrier, answers = context.Barrier(PROCESSES), context.Queue()
    started = [context.Process(target=_open, args=(url, str(data_dir), barrier, answers))
               for _ in range(PROCESSES)]
    for process in started:
        process.start()
    got = [answers.get(timeout=120) for _ in started]
    for process in started:
        process.join(timeout=60)
        assert process.exitcode == 0
    return got


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_processes_started_together_all_open_the_store(dialect: str, tmp_path: Path,
                                                       request: pytest.FixtureRequest) -> None:
    url = (request.getfixturevalue("pg_url") if dialect == "postgresql"
           else f"sqlite:///{tmp_path / 'ledger.db'}")
    keys: set[str] = set()
    for _ in range(ROUNDS):
        answers = _start_together(url, tmp_path / "data")
        assert not [a for a in answers if a.startswith("failed")], answers
        keys.update(answers)
    assert len(keys) == 1  # one service key, made by one of the first round, read by every process


def _race_for_key(path: str, barrier: Any, answers: Any) -> None:
    barrier.wait()
    try:
        answers.put(secret_file(Path(path), 32).hex())
    except Exception as error:
        answers.put(f"failed: {error!r}")


def test_a_key_made_by_processes_at_once_is_one_whole_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")  # forked: they reach the race together
    barrier, answers = context.Barrier(8), context.Queue()
    path = tmp_path / "keys" / "service.key"
    racers = [context.Process(target=_race_for_key, args=(str(path), barrier, answers))
              for _ in range(8)]
    for racer in racers:
        racer.start()
    got = {answers.get(timeout=30) for _ in racers}
    for racer in racers:
        racer.join(timeout=30)
    assert len(got) == 1 and len(bytes.fromhex(got.pop())) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["service.key"]  # no partial file left


def test_a_cut_key_file_is_refused_not_used(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_bytes(b"\x01" * 20)  # a restore that cut the file short
    with pytest.raises(ValueError, match="holds 20 bytes where a key has 32"):
        secret_file(path, 32)


def _open_new_sqlite(path: str, barrier: Any, answers: Any) -> None:
    barrier.wait()
    try:
        create_private_sqlite(Path(path))
        with SQLiteDatastore(path, lock_timeout=30).transaction(commit=False) as cursor:
            cursor.execute("PRAGMA journal_mode")
            answers.put(cursor.fetchone()[0])
    except Exception as error:
        answers.put(f"failed: {error!r}")


def test_processes_creating_one_sqlite_file_all_open_it(tmp_path: Path) -> None:
    """The first round above, narrowed to its race and repeated: each process switching a new
    empty file to WAL as the event store opens it failed about one round in four with "database
    is locked" (the switch does not wait out the busy timeout)."""
    context = multiprocessing.get_context("fork")
    for n in range(20):
        barrier, answers = context.Barrier(8), context.Queue()
        path = tmp_path / f"store{n}" / "ledger.db"
        openers = [context.Process(target=_open_new_sqlite, args=(str(path), barrier, answers))
                   for _ in range(8)]
        for opener in openers:
            opener.start()
        got = [answers.get(timeout=60) for _ in openers]
        for opener in openers:
            opener.join(timeout=30)
        assert got == ["wal"] * 8, (n, got)
        # Nothing made aside is left (the -wal and -shm files are SQLite's own, left by
        # processes that ended without closing their connections).
        assert {p.name for p in path.parent.iterdir()} <= {"ledger.db", "ledger.db-wal",
                                                            "ledger.db-shm"}
        assert path.stat().st_mode & 0o777 == 0o600
