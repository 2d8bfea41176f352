"""Group commit: commands that arrive while one is being written share the next transaction,
and one command's conflict never costs the others theirs."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, Notification, Recording, Tracking

from ledger.group_commit import GroupCommit

WAIT_S = 10


class Event:
    """Stands in for a domain event: only its identity matters to the group commit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.originator_id = uuid4()


def command(*names: str) -> ProcessingEvent[UUID]:
    processing: ProcessingEvent[UUID] = ProcessingEvent()
    processing.events.extend(Event(n) for n in names)  # type: ignore[misc]
    return processing


class Store:
    """Records batches in memory, numbering events like a log; refuses any batch holding a
    `conflict` event (as the real store refuses a batch with one stale aggregate: whole)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.first_entered = threading.Event()
        self.release_first = threading.Event()
        self.position = 0

    def record(self, processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        names = [e.name for e in processing.events]  # type: ignore[attr-defined]
        if not self.batches and not self.first_entered.is_set():
            self.first_entered.set()
            assert self.release_first.wait(WAIT_S)
        if "conflict" in names:
            self.batches.append(["refused", *names])
            raise IntegrityError("stale aggregate")
        self.batches.append(names)
        out = []
        for e in processing.events:
            self.position += 1
            out.append(Recording(e, Notification(  # type: ignore[arg-type]
                originator_id=e.originator_id, originator_version=1, topic=e.name,  # type: ignore[attr-defined]
                state=b"", id=self.position)))
        return out


class Observed(GroupCommit):
    """A group commit that tells the test each time a command joins the queue."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.record)
        self.queued = threading.Semaphore(0)

    def _enqueue(self, event: ProcessingEvent[UUID]) -> Any:
        ticket = super()._enqueue(event)
        self.queued.release()
        return ticket


def race(group: Observed, store: Store, first: ProcessingEvent[UUID],
         others: list[ProcessingEvent[UUID]]) -> dict[int, list[str] | str]:
    """`first` is written while all `others` queue behind it; their outcomes, by index."""
    results: dict[int, list[str] | str] = {}

    def run(i: int, processing: ProcessingEvent[UUID]) -> None:
        try:
            results[i] = [r.notification.topic for r in group.record(processing)]
        except IntegrityError:
            results[i] = "conflict"

    threads = [threading.Thread(target=run, args=(0, first))]
    threads[0].start()
    assert group.queued.acquire(timeout=WAIT_S)  # the first command's own turn in the queue
    assert store.first_entered.wait(WAIT_S)
    for i, processing in enumerate(others, start=1):
        threads.append(threading.Thread(target=run, args=(i, processing)))
        threads[-1].start()
    for _ in others:  # every other command has joined the queue behind the write
        assert group.queued.acquire(timeout=WAIT_S), "the commands never queued"
    store.release_first.set()
    for t in threads:
        t.join(WAIT_S)
    return results


def test_commands_arriving_during_a_write_share_the_next_transaction() -> None:
    store = Store()
    group = Observed(store)
    results = race(group, store, command("a1"), [command("b1", "b2"), command("c1"), command("d1", "d2")])
    assert store.batches == [["a1"], ["b1", "b2", "c1", "d1", "d2"]]
    # Each command gets exactly its own recordings, in its own order.
    assert results == {0: ["a1"], 1: ["b1", "b2"], 2: ["c1"], 3: ["d1", "d2"]}


def test_a_conflict_in_a_batch_fails_only_its_own_command() -> None:
    store = Store()
    group = Observed(store)
    results = race(group, store, command("a1"), [command("b1"), command("conflict"), command("d1")])
    assert store.batches == [["a1"], ["refused", "b1", "conflict", "d1"],
                             ["b1"], ["refused", "conflict"], ["d1"]]
    assert results == {0: ["a1"], 1: ["b1"], 2: "conflict", 3: ["d1"]}
    assert group.split_batches == 1  # counted for /metrics


def test_a_lone_command_is_written_at_once_and_its_error_is_its_own() -> None:
    store = Store()
    store.first_entered.set()  # nothing to hold back
    group = GroupCommit(store.record)
    assert [r.notification.id for r in group.record(command("x1", "x2"))] == [1, 2]
    with pytest.raises(IntegrityError):
        group.record(command("conflict"))
    assert store.batches == [["x1", "x2"], ["refused", "conflict"]]
    assert group.split_batches == 0  # a lone command's error is no split batch


def test_a_tracked_event_is_never_grouped() -> None:
    seen: list[Tracking | None] = []

    def record(processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        seen.append(processing.tracking)
        return []

    tracking = Tracking(application_name="upstream", notification_id=7)
    GroupCommit(record).record(ProcessingEvent(tracking))
    assert seen == [tracking]
