"""Follows the event log and applies it to projections, batch by batch.

Each batch is one transaction holding the projections' rows and their tracking positions, so an
event is applied exactly once even if the process dies half way: after a crash the batch rolls
back and is read again from the last committed position.

A projection that cannot apply an event (a handler raises, or the database refuses its rows)
stops alone: the batch is applied again to each projection apart, and to the failing one event
by event up to the event it cannot apply. Its failure is logged and kept (`failures`), the
others go on following the log, and it stays stopped (it is not retried) until this process
restarts or its tracking position is moved by someone else (a rebuild, another worker). The
database being unreachable is nobody's fault: it is raised, and `follow` retries with back-off.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import eventsourcing.persistence as es
import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from projections.base import Projection
from projections.collector import fewer_collections
from projections.db import Cursor, Database
from projections.health import TaskHealth

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# A rebuild holds its transaction anyway: bigger batches mean fewer round trips and fewer rows
# written again (a counter touched in many batches is upserted once per batch). Measured on
# bench/rebuild.py's 20,000 events: 1,000 → 20,000 per batch cut the CPU used by a fifth.
REBUILD_BATCH_SIZE = 20_000
POLL_INTERVAL_S = 0.25
MAX_BACKOFF_S = 5.0  # a restarted database is picked up within seconds
PROJECTION_LOCKS = 720_210  # an arbitrary, fixed advisory lock namespace (int4)
FOLLOW_TASK = "projections"  # its name in TaskHealth and in metrics

# The stored row, and the domain event, an _Undecodable, or None if none of the projections
# it was fetched for needs it decoded (Projection.decodes).
Event = tuple[Notification, Any]

# SQLite's OperationalError also means "no such table" or bad SQL: only these pass with time.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error",
                     "unable to open database")


def is_transient(exc: BaseException) -> bool:
    """The database is unreachable, busy or restarting: worth retrying, and no projection's fault."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError
                  | es.OperationalError | es.InterfaceError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return str(exc).lower().startswith(_SQLITE_TRANSIENT)
    return False


class ProjectionFailed(RuntimeError):
    """A projection stopped: it cannot apply the event at `position`.

    `error` is the exception's class (safe to show anyone), `detail` its message (for operators:
    it may quote data), `stopped_at` the projection's tracking position (everything up to it is
    applied)."""

    def __init__(self, name: str, position: int, topic: str, error: str, *, detail: str = "",
                 stopped_at: int = 0) -> None:
        super().__init__(f"projection {name} cannot apply the event at position {position}"
                         f" ({topic}): {error}" + (f": {detail}" if detail else ""))
        self.name, self.position, self.topic, self.error = name, position, topic, error
        self.detail, self.stopped_at = detail, stopped_at

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in a worker process of a parallel rebuild, and read in the parent.
        return (_projection_failed, (self.name, self.position, self.topic, self.error,
                                     self.detail, self.stopped_at))

    def copy(self) -> ProjectionFailed:
        # Raised afresh each time: re-raising one instance would grow its traceback forever.
        return ProjectionFailed(self.name, self.position, self.topic, self.error,
                                detail=self.detail, stopped_at=self.stopped_at)


def _projection_failed(name: str, position: int, topic: str, error: str, detail: str,
                       stopped_at: int) -> ProjectionFailed:
    return ProjectionFailed(name, position, topic, error, detail=detail, stopped_at=stopped_at)


def lock_key(name: str) -> int:
    """A projection's advisory lock key within PROJECTION_LOCKS (a signed int4)."""
    return zlib.crc32(name.encode()) - (1 << 31)


class UndecodableEvent(Exception):
    """The stored event could not be turned back into a domain event."""


class _Undecodable:
    def __init__(self, error: Exception) -> None:
        self.error = error


class Runner:
    def __init__(self, db: Database, app: Application[Any], projections: Sequence[Projection],
                 *, batch_size: int | None = None, health: TaskHealth | None = None,
                 log_db: Database | None = None) -> None:
        """`batch_size` events per batch when following the log, and when rebuilding (else
        BATCH_SIZE and REBUILD_BATCH_SIZE). `log_db` is the database that holds the log, if the
        read models are elsewhere (a scratch store)."""
        self.db = db
        self.log_db = log_db or db
        self.app = app
        self.projections = list(projections)
        self.batch_size = batch_size or BATCH_SIZE
        self.rebuild_batch_size = batch_size or REBUILD_BATCH_SIZE
        self.health = health or TaskHealth()
        self.wake = threading.Event()
        self._advanced = threading.Condition()
        self._lock = threading.Lock()
        self._failures: dict[str, ProjectionFailed] = {}
        self._failure_counts: dict[str, int] = {}

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

    # ---- failures -------------------------------------------------------------------------

    def failures(self) -> dict[str, ProjectionFailed]:
        """The stopped projections of this runner, by name."""
        names = {p.name for p in self.projections}
        with self._lock:
            return {n: f for n, f in self._failures.items() if n in names}

    def failure_counts(self) -> dict[str, int]:
        """How many times each projection has stopped since this process started."""
        with self._lock:
            return {p.name: self._failure_counts.get(p.name, 0) for p in self.projections}

    def check(self, position: int | None = None) -> None:
        """Raise ProjectionFailed if a stopped projection has not applied `position` (any, if None)."""
        for failure in self.failures().values():
            if position is None or failure.position <= position:
                raise failure.copy()

    def _running(self, positions: dict[str, int]) -> list[Projection]:
        with self._lock:
            for name, failure in list(self._failures.items()):
                if name in positions and positions[name] != failure.stopped_at:
                    # Moved on by someone else (a rebuild, a worker with a fix): follow it again.
                    log.info("projection %s moved from %d to %d elsewhere: following it again",
                             name, failure.stopped_at, positions[name])
                    del self._failures[name]
            return [p for p in self.projections if p.name not in self._failures]

    def _stop(self, projection: Projection, reached: int, stored: Notification,
              exc: Exception) -> None:
        failure = ProjectionFailed(projection.name, stored.id, stored.topic, type(exc).__name__,
                                   detail=str(exc), stopped_at=reached)
        with self._lock:
            known = self._failures.get(projection.name)
            if known is not None and known.position == failure.position:
                return  # found by another thread meanwhile
            self._failures[projection.name] = failure
            self._failure_counts[projection.name] = self._failure_counts.get(projection.name, 0) + 1
        log.error("projection %s stopped at position %d: it cannot apply the event at position %d"
                  " (%s): %s: %s", projection.name, reached, stored.id, stored.topic,
                  type(exc).__name__, exc, exc_info=exc)

    # ---- applying -------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        with self.db.write() as cur:
            if self.db.dialect == "postgresql":
                # One writer of each projection at a time, so that runners of other projections
                # (`minhbach project NAME`, a parallel rebuild) go on beside it; taken in one
                # order, so no two runners wait on each other. (On SQLite, BEGIN IMMEDIATE
                # allows one writer of all.)
                for name in sorted(p.name for p in self.projections):
                    cur.execute("SELECT pg_advisory_xact_lock(?, ?)", (PROJECTION_LOCKS, lock_key(name)))
            yield cur

    def _decode(self, stored: Notification) -> Any:
        try:
            return self.app.mapper.to_domain_event(stored)
        except Exception as exc:
            # Only the projections that read this topic fail on it (see _apply).
            return _Undecodable(exc)

    def _events(self, projections: Sequence[Projection],
                notifications: Sequence[Notification]) -> list[Event]:
        """Each stored event with its domain event, decoded only if one of `projections` reads
        its topic and needs it decoded."""
        wanted: dict[str, bool] = {}
        events: list[Event] = []
        for stored in notifications:
            decode = wanted.get(stored.topic)
            if decode is None:
                decode = wanted[stored.topic] = any(p.decodes and p.reads(stored.topic)
                                                    for p in projections)
            events.append((stored, self._decode(stored) if decode else None))
        return events

    def _pending(self, stop: int | None) -> tuple[list[Projection], list[Event]]:
        positions = self.positions()
        running = self._running(positions)
        if not running:
            return [], []
        start = min(positions[p.name] for p in running)
        notifications = self.app.recorder.select_notifications(
            start=start + 1, limit=self.batch_size, stop=stop)
        return running, self._events(running, notifications)

    @staticmethod
    def _apply(cur: Cursor, projection: Projection, events: Sequence[Event]) -> None:
        projection.begin(cur)
        for stored, event in events:
            if not projection.reads(stored.topic):
                continue
            if not projection.decodes:
                event = None
            elif isinstance(event, _Undecodable):
                raise UndecodableEvent(f"{type(event.error).__name__}: {event.error}")
            projection.apply(cur, event, stored)
        projection.finish(cur)

    @staticmethod
    def _track(cur: Cursor, projection: Projection, position: int) -> None:
        cur.execute(
            "INSERT INTO projection_tracking (name, position) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (projection.name, position),
        )

    def _commit(self, projections: Sequence[Projection], events: Sequence[Event]) -> None:
        with self._transaction() as cur:
            # Re-read under the lock: another runner may have moved on meanwhile.
            positions = self.positions(cur)
            stopped = self.failures()
            for projection in projections:
                if projection.name in stopped:
                    continue
                done = positions[projection.name]
                pending = [e for e in events if e[0].id > done]
                if pending:
                    self._apply(cur, projection, pending)
                    self._track(cur, projection, pending[-1][0].id)

    def _pinpoint(self, cur: Cursor, projection: Projection, events: Sequence[Event],
                  done: int) -> tuple[int, tuple[Notification, Exception] | None]:
        """Apply `events` one at a time: how far they get, and the event that can't be applied."""
        reached = done
        for one in events:
            cur.execute("SAVEPOINT one_event")
            try:
                self._apply(cur, projection, [one])
            except Exception as exc:
                if is_transient(exc):
                    raise
                cur.execute("ROLLBACK TO SAVEPOINT one_event")
                cur.execute("RELEASE SAVEPOINT one_event")
                return reached, (one[0], exc)
            cur.execute("RELEASE SAVEPOINT one_event")
            reached = one[0].id
        return reached, None

    def _isolate(self, projections: Sequence[Projection], events: Sequence[Event]) -> None:
        """The batch failed: apply it to each projection in a transaction of its own. Failures
        are recorded once every projection has had its turn, so that when one shows as stopped
        the others have applied the batch."""
        stopped: list[tuple[Projection, int, Notification, Exception]] = []
        for projection in projections:
            found: tuple[Notification, Exception] | None = None
            with self._transaction() as cur:
                done = self.positions(cur)[projection.name]
                pending = [e for e in events if e[0].id > done]
                if not pending or projection.name in self.failures():
                    continue
                cur.execute("SAVEPOINT one_projection")
                try:
                    self._apply(cur, projection, pending)
                    reached = pending[-1][0].id
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    cur.execute("ROLLBACK TO SAVEPOINT one_projection")
                    reached, found = self._pinpoint(cur, projection, pending, done)
                cur.execute("RELEASE SAVEPOINT one_projection")
                if reached > done:
                    self._track(cur, projection, reached)
            if found is not None:
                stopped.append((projection, reached, *found))
        for projection, at, stored, error in stopped:
            self._stop(projection, at, stored, error)

    def _notify(self) -> None:
        with self._advanced:
            self._advanced.notify_all()

    def run_once(self, stop: int | None = None) -> int:
        """Apply the next batch (not beyond position `stop`) to every running projection in one
        transaction; returns how many events were read. Any error rolls it all back and is raised."""
        running, events = self._pending(stop)
        if events:
            self._commit(running, events)
            self._notify()
        return len(events)

    def advance(self, stop: int | None = None) -> int:
        """As `run_once`, but a projection that cannot apply the batch stops alone and the others
        apply it; only the database's unavailability (see `is_transient`) is raised."""
        running, events = self._pending(stop)
        if not events:
            return 0
        try:
            self._commit(running, events)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("the batch of %d events from position %d failed (%s): applying it to each"
                        " projection apart", len(events), events[0][0].id, type(exc).__name__)
            self._isolate(running, events)
        self._notify()
        return len(events)

    def catch_up(self, progress: Callable[[int], None] | None = None,
                 stop: int | None = None) -> int:
        """Apply the log up to its head (or `stop`); returns how many events were read. Raises
        ProjectionFailed, once the others are up to date, if a projection has stopped."""
        total = 0
        while n := self.advance(stop):
            total += n
            if progress:
                progress(n)
        self.check(stop)
        return total

    def replay(self, events: Sequence[Event]) -> None:
        """Apply these decoded events, a chosen part of the log in log order, to every
        projection, batch by batch (a scratch store's replay of the log as of a date)."""
        for start in range(0, len(events), self.batch_size):
            self._commit(self.projections, events[start:start + self.batch_size])

    def ensure(self, position: int) -> None:
        """Apply the log up to `position` in this thread, if no one else has yet. Raises
        ProjectionFailed if a stopped projection has not got there."""
        while self.position() < position and self.advance():
            pass
        self.check(position)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop every row of these projections and replay the log, up to its head as it is now,
        into them; returns that head, the position they all reach (`progress` is given how far
        each batch moves them).

        All in one transaction, so the read models are never worse than before: readers see the
        old rows until the new ones are complete, and an event that can't be applied raises
        ProjectionFailed with everything rolled back. (On SQLite, writers wait meanwhile.)
        Only the events of the topics these projections read are fetched."""
        last = 0
        with self._transaction() as cur, fewer_collections():
            # Read first: a topic that the query below doesn't see is not in the log up to here.
            head = self.app.recorder.max_notification_id() or 0
            for projection in self.projections:
                projection.clear(cur)
                cur.execute("DELETE FROM projection_tracking WHERE name = ?", (projection.name,))
            topics = self._topics(cur)
            try:
                for projection in self.projections:
                    projection.rebuilding = True
                while last < head and topics != [] and (notifications := (
                        self.app.recorder.select_notifications(
                            start=last + 1, limit=self.rebuild_batch_size, stop=head,
                            topics=topics or ()))):
                    self._rebuild_batch(cur, self._events(self.projections, notifications), last)
                    if progress:
                        progress(notifications[-1].id - last)
                    last = notifications[-1].id
            finally:
                for projection in self.projections:
                    projection.rebuilding = False
            if progress and head > last:
                progress(head - last)
            if head:
                for projection in self.projections:
                    self._track(cur, projection, head)
        with self._lock:
            for projection in self.projections:
                self._failures.pop(projection.name, None)
        self._notify()
        return head

    def _topics(self, cur: Cursor) -> list[str] | None:
        """The log's topics that these projections read; None if they read every event."""
        if any(p.kinds() is None for p in self.projections):
            return None
        if self.log_db is self.db:
            found = cur.execute(f"SELECT DISTINCT topic FROM {self.db.events_table}").fetchall()
        else:
            found = self.log_db.query(f"SELECT DISTINCT topic FROM {self.log_db.events_table}")
        return sorted(t for t in (r["topic"] for r in found)
                      if any(p.reads(t) for p in self.projections))

    def _rebuild_batch(self, cur: Cursor, events: Sequence[Event], done: int) -> None:
        cur.execute("SAVEPOINT rebuild_batch")
        try:
            for projection in self.projections:
                self._apply(cur, projection, events)
        except Exception as exc:
            if is_transient(exc):
                raise
            cur.execute("ROLLBACK TO SAVEPOINT rebuild_batch")
            # What the projections kept in memory went with the batch: they read it back.
            for projection in self.projections:
                projection.rebuilding = False
            self._rebuild_one_by_one(cur, events, done, exc)
            for projection in self.projections:
                projection.rebuilding = True
        cur.execute("RELEASE SAVEPOINT rebuild_batch")

    def _rebuild_one_by_one(self, cur: Cursor, events: Sequence[Event], done: int,
                            batch_error: Exception) -> None:
        for projection in self.projections:
            reached, found = self._pinpoint(cur, projection, events, done)
            if found is not None:
                stored, exc = found
                log.error("rebuild: projection %s cannot apply the event at position %d (%s): %s:"
                          " %s; the read models are left as they were", projection.name,
                          stored.id, stored.topic, type(exc).__name__, exc, exc_info=exc)
                raise ProjectionFailed(projection.name, stored.id, stored.topic,
                                       type(exc).__name__, detail=str(exc),
                                       stopped_at=reached) from exc
        log.warning("rebuild: a batch from position %d failed (%s) but each of its events applied"
                    " alone", events[0][0].id, type(batch_error).__name__)

    # ---- following ------------------------------------------------------------------------

    def follow(self, stop: threading.Event) -> None:
        """Keep the projections current until `stop` is set.

        Woken at once by commands in this process (`wake`), by LISTEN/NOTIFY on PostgreSQL,
        and otherwise by a short poll, for events written by other processes. An error is
        logged, counted (`health`) and retried with back-off: the loop only ends with `stop`."""
        listener: Any = None
        backoff = POLL_INTERVAL_S
        try:
            while not stop.is_set():
                try:
                    if listener is None and self.db.dialect == "postgresql":
                        listener = self._listen()
                    moved = self.advance()
                    self.health.succeeded(FOLLOW_TASK)
                    backoff = POLL_INTERVAL_S
                    if moved:
                        continue
                    self._wait(listener)
                except Exception as exc:
                    self.health.failed(FOLLOW_TASK, exc)
                    if is_transient(exc):
                        log.warning("following the log: the database is unavailable (%s: %s);"
                                    " retrying in %.2f s", type(exc).__name__, exc, backoff)
                    else:
                        log.exception("following the log failed; retrying in %.2f s", backoff)
                    if listener is not None:
                        with contextlib.suppress(Exception):
                            listener.close()
                        listener = None
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    listener.close()

    def _wait(self, listener: Any) -> None:
        if listener is not None:
            for _ in listener.notifies(timeout=POLL_INTERVAL_S, stop_after=1):
                pass
        else:
            self.wake.wait(POLL_INTERVAL_S)
        self.wake.clear()

    def _listen(self) -> Any:
        conn = self.db.listen_connection()
        conn.execute(f"LISTEN {self.db.events_table}")
        return conn

    def wait_for(self, position: int, timeout_s: float) -> bool:
        """Block until the projections have applied `position` (read your writes). Raises
        ProjectionFailed if a stopped projection has not got there (it won't)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.position() >= position:
                return True
            self.check(position)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.wake.set()
            with self._advanced:
                self._advanced.wait(min(remaining, POLL_INTERVAL_S))
