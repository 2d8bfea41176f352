"""Group commit: the events of commands that arrive together are written in one transaction.

The event store serialises writers (on PostgreSQL the library takes the events table's lock and
holds it through COMMIT's WAL flush), so one transaction per command caps the ledger near the
disk's flush rate, and racing commands queue for the lock. Here the first command to arrive
writes, and whatever arrives while it writes is gathered and written next, in one transaction.

A batch is atomic, so one command's conflict (an aggregate someone else changed) would fail
the others; then each command of the batch is written on its own, and only the ones that
really conflict see the error. A command's outcome is therefore exactly what it would have been
alone: its events all recorded, or none and an error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import Recording

Record = Callable[[ProcessingEvent[UUID]], list[Recording[UUID]]]


class _Ticket:
    __slots__ = ("done", "error", "event", "recordings")

    def __init__(self, event: ProcessingEvent[UUID]) -> None:
        self.event = event
        self.done = False
        self.recordings: list[Recording[UUID]] = []
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, record: Record) -> None:
        self._record = record
        self._writing = threading.Lock()  # held by the thread that writes the current batch
        self._queue_guard = threading.Lock()
        self._queue: list[_Ticket] = []
        # Batches written again command by command because the whole failed (a conflict, or a
        # database error that each command then meets and reports itself): /metrics shows it.
        self.split_batches = 0

    def record(self, event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        if event.tracking is not None:  # a tracked event must commit with its own position
            return self._record(event)
        ticket = self._enqueue(event)
        with self._writing:
            if not ticket.done:  # no one took it while we waited: write all that is queued
                with self._queue_guard:
                    batch, self._queue = self._queue, []
                self._write(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.recordings

    def _enqueue(self, event: ProcessingEvent[UUID]) -> _Ticket:
        ticket = _Ticket(event)
        with self._queue_guard:
            self._queue.append(ticket)
        return ticket

    def _write(self, batch: list[_Ticket]) -> None:
        if len(batch) > 1:
            merged: ProcessingEvent[UUID] = ProcessingEvent()
            for ticket in batch:
                merged.events.extend(ticket.event.events)
                merged.aggregates.update(ticket.event.aggregates)
                merged.saved_kwargs.update(ticket.event.saved_kwargs)
            try:
                recordings = self._record(merged)
            except Exception:
                self.split_batches += 1  # each command's own error comes from its own write below
            else:
                start = 0
                for ticket in batch:
                    end = start + len(ticket.event.events)
                    ticket.recordings, ticket.done = recordings[start:end], True
                    start = end
                return
        for ticket in batch:
            try:
                ticket.recordings = self._record(ticket.event)
            except Exception as error:
                ticket.error = error
            ticket.done = True


class GroupCommitApplication(Application[UUID]):
    """An eventsourcing application whose saves go through group commit. The library records a
    save in `_record`, which is not public API: this is the one place that hooks it, and
    tests/integration/test_group_commit.py fails if a release of the library changes it."""

    def __init__(self, env: dict[str, str] | None) -> None:
        super().__init__(env)
        self._group_commit = GroupCommit(super()._record)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        return self._group_commit.record(processing_event)

    @property
    def group_commit_splits(self) -> int:
        return self._group_commit.split_batches
