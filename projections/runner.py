"""Follows the event log and applies it to projections, batch by batch.

Each batch is one transaction holding the projections' rows and their tracking positions, so an
event is applied exactly once even if the process dies half way: after a crash the batch rolls
back and is read again from the last committed position.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application

from projections.base import Projection
from projections.db import Cursor, Database

BATCH_SIZE = 1000
POLL_INTERVAL_S = 0.25
PROJECTION_LOCK = 7_202_102_021  # an arbitrary, fixed advisory lock key


class Runner:
    def __init__(self, db: Database, app: Application[Any], projections: Sequence[Projection],
                 *, batch_size: int = BATCH_SIZE) -> None:
        self.db = db
        self.app = app
        self.projections = list(projections)
        self.batch_size = batch_size
        self.wake = threading.Event()
        self._advanced = threading.Condition()

    # ---- positions ------------------------------------------------------------------------

    def positions(self, cur: Cursor | None = None) -> dict[str, int]:
        names = [p.name for p in self.projections]
        sql = "SELECT name, position FROM projection_tracking"
        rows = cur.execute(sql).fetchall() if cur else self.db.query(sql)
        found = {r["name"]: int(r["position"]) for r in rows}
        return {n: found.get(n, 0) for n in names}

    def position(self) -> int:
        """How far every projection of this runner has got (the slowest one)."""
        return min(self.positions().values(), default=0)

    # ---- applying -------------------------------------------------------------------------

    def run_once(self, stop: int | None = None) -> int:
        """Apply the next batch (not beyond position `stop`); returns how many events were read."""
        start = self.position()
        notifications = self.app.recorder.select_notifications(
            start=start + 1, limit=self.batch_size, stop=stop)
        if not notifications:
            return 0
        events = [(n, self.app.mapper.to_domain_event(n)) for n in notifications]
        with self.db.write() as cur:
            if self.db.dialect == "postgresql":
                # One writer of read models at a time (SQLite's BEGIN IMMEDIATE does the same).
                cur.execute("SELECT pg_advisory_xact_lock(?)", (PROJECTION_LOCK,))
            # Re-read under the lock: another runner may have moved on meanwhile.
            positions = self.positions(cur)
            for projection in self.projections:
                done = positions[projection.name]
                projection.begin(cur)
                for stored, event in events:
                    if stored.id > done:
                        projection.apply(cur, event, stored)
                projection.finish(cur)
                last = events[-1][0].id
                if last > done:
                    cur.execute(
                        "INSERT INTO projection_tracking (name, position) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                        (projection.name, last),
                    )
        with self._advanced:
            self._advanced.notify_all()
        return len(notifications)

    def catch_up(self, progress: Callable[[int], None] | None = None,
                 stop: int | None = None) -> int:
        total = 0
        while n := self.run_once(stop):
            total += n
            if progress:
                progress(n)
        return total

    def ensure(self, position: int) -> None:
        """Apply the log up to `position` in this thread, if no one else has yet."""
        while self.position() < position and self.run_once():
            pass

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop every row of these projections and replay the whole log into them."""
        with self.db.write() as cur:
            for projection in self.projections:
                projection.clear(cur)
                cur.execute("DELETE FROM projection_tracking WHERE name = ?", (projection.name,))
        return self.catch_up(progress)

    # ---- following ------------------------------------------------------------------------

    def follow(self, stop: threading.Event) -> None:
        """Keep the projections current until `stop` is set.

        Woken at once by commands in this process (`wake`), by LISTEN/NOTIFY on PostgreSQL,
        and otherwise by a short poll, for events written by other processes."""
        listener = self._listen() if self.db.dialect == "postgresql" else None
        try:
            while not stop.is_set():
                try:
                    if self.run_once():
                        continue
                except Exception:
                    time.sleep(POLL_INTERVAL_S)
                    continue
                if listener is not None:
                    for _ in listener.notifies(timeout=POLL_INTERVAL_S, stop_after=1):
                        pass
                else:
                    self.wake.wait(POLL_INTERVAL_S)
                self.wake.clear()
        finally:
            if listener is not None:
                listener.close()

    def _listen(self) -> Any:
        conn = self.db.listen_connection()
        conn.execute(f"LISTEN {self.db.events_table}")
        return conn

    def wait_for(self, position: int, timeout_s: float) -> bool:
        """Block until the projections have applied `position` (read your writes)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.position() >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.wake.set()
            with self._advanced:
                self._advanced.wait(min(remaining, POLL_INTERVAL_S))
