"""The PostgreSQL event store's write path (adapters/event_store.py) on a real server.

The case that hung: a write of megabytes (a statement import's batch) while another writer holds
the events table's lock. eventsourcing's own recorder pipelines LOCK, NOTIFY and the INSERT; with
about 18 MB of events this waits forever once the lock is released (its backend in ClientRead,
the lock held). Run against `PostgresApplicationRecorder` this test fails by its deadline."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import psycopg
from eventsourcing.persistence import StoredEvent

from adapters.event_store import LedgerRecorder
from tests.conftest import make_services

EVENTS = 20_000
STATE = b"z" * 900
DEADLINE_S = 120


def _waiting_for_lock(admin: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()").fetchone()
    return bool(row and row[0])


def test_a_large_write_behind_another_writers_lock_completes(pg_url: str, tmp_path: Path) -> None:
    services = make_services(pg_url, tmp_path / "data", seasons=False)
    try:
        recorder = services.ledger.recorder
        assert isinstance(recorder, LedgerRecorder)
        events = [StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic="bench:Big",
                              state=STATE) for _ in range(EVENTS)]
        result: dict[str, object] = {}
        done = threading.Event()

        def write() -> None:
            try:
                result["ids"] = recorder.insert_events(events)
            except Exception as exc:  # reported by the assertion below
                result["error"] = exc
            done.set()

        with psycopg.connect(pg_url) as holder, psycopg.connect(pg_url, autocommit=True) as admin:
            holder.execute(f"LOCK TABLE {recorder.events_table_name} IN EXCLUSIVE MODE")
            writer = threading.Thread(target=write, daemon=True)
            writer.start()
            deadline = time.monotonic() + DEADLINE_S
            while not _waiting_for_lock(admin):  # the writer's LOCK TABLE queues behind ours
                assert time.monotonic() < deadline and not done.is_set(), result
                time.sleep(0.05)
            holder.rollback()
        assert done.wait(DEADLINE_S), "the write never completed after the lock was released"
        assert "error" not in result, result
        ids = result["ids"]
        assert isinstance(ids, list) and len(ids) == EVENTS
        assert ids == list(range(ids[0], ids[0] + EVENTS))
        assert recorder.max_notification_id() == ids[-1]
    finally:
        services.close()
