"""What a projection is: a name, the tables it owns, and one handler per event it reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

from eventsourcing.persistence import Notification

from projections.db import Cursor

Handler = Callable[[Cursor, Any, int], None]
# A handler as written in the class body, before it is bound: (self, cur, event, position).
MethodT = TypeVar("MethodT", bound=Callable[..., None])


class Projection:
    """Subclasses map event class names (`Receipt.Recorded`) to handlers on their own tables.

    A projection reads and writes only its own tables, so it can be dropped and rebuilt alone."""

    name: str = ""
    tables: tuple[str, ...] = ()
    # Whether `apply` needs the domain event. One that reads only the stored row (the Merkle
    # tree makes its leaf from the stored bytes) is given None instead: the runner decodes an
    # event only for the projections that need it, and an event that can't be decoded does not
    # stop one that doesn't.
    decodes: bool = True

    def __init__(self) -> None:
        # True while a rebuild holds this projection's rows in one transaction, from `clear` on:
        # what the projection kept in memory from one batch to the next is then what its tables
        # hold (no one else writes them), so it need not read it back.
        self.rebuilding = False
        self._reads: dict[str, bool] = {}
        # Writes wait for the end of the batch and go out as one executemany per statement:
        # first every INSERT (stage 0), then every UPDATE (stage 1), each stage in the order
        # its statements were first used. Updates are additive or set final values, so running
        # them after the batch's inserts gives the same rows as running each at once.
        self._later: tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]]] = ({}, {})
        self.handlers: dict[str, Handler] = {}
        for attr in dir(type(self)):
            topic = getattr(getattr(type(self), attr), "_handles", None)
            if topic:
                for t in topic:
                    self.handlers[t] = getattr(self, attr)

    def apply(self, cur: Cursor, event: Any, stored: Notification) -> None:
        """`event` is the decoded domain event, `stored` the row as the log holds it."""
        handler = self.handlers.get(type(event).__qualname__)
        if handler is not None:
            handler(cur, event, stored.id)

    def reads(self, topic: str) -> bool:
        """Whether events of this topic (`module:Class.Event`) matter to this projection: one that
        overrides `apply` sees every event."""
        known = self._reads.get(topic)
        if known is None:
            kinds = self.kinds()
            known = self._reads[topic] = kinds is None or topic.rpartition(":")[2] in kinds
        return known

    def kinds(self) -> frozenset[str] | None:
        """The event kinds (`Receipt.Recorded`) this projection reads; None if every one."""
        return None if type(self).apply is not Projection.apply else frozenset(self.handlers)

    def insert(self, sql: str, params: tuple[Any, ...]) -> None:
        self._later[0].setdefault(sql, []).append(params)

    def update(self, sql: str, params: tuple[Any, ...]) -> None:
        self._later[1].setdefault(sql, []).append(params)

    def begin(self, cur: Cursor) -> None:
        """Called at the start of each batch, inside its transaction (and its lock)."""
        self._later = ({}, {})

    def finish(self, cur: Cursor) -> None:
        """Called at the end of each batch, before its tracking position is written."""
        inserts, updates = self._later
        for sql, rows in inserts.items():
            cur.insert_many(sql, rows)
        for sql, rows in updates.items():
            cur.executemany(sql, rows)
        self._later = ({}, {})

    def clear(self, cur: Cursor) -> None:
        for table in self.tables:
            cur.execute(f"DELETE FROM {table}")


def handles(*topics: str) -> Callable[[MethodT], MethodT]:
    """Mark a method `(self, cur, event, position)` as the handler of these event topics."""
    def mark(fn: MethodT) -> MethodT:
        fn._handles = topics  # type: ignore[attr-defined]
        return fn

    return mark


def recorded_day(e: Any) -> str:
    """The day (UTC) an event was recorded, the date reports `by=recorded` put it on (its
    business date, `received_on` or `distributed_on`, is another column)."""
    return str(e.timestamp.astimezone(UTC).date().isoformat())
