"""The PostgreSQL event store's writes, without psycopg's pipeline mode.

eventsourcing's `PostgresApplicationRecorder.insert_events` sends LOCK TABLE, NOTIFY and one
INSERT of every event (an array parameter: a statement import's batch is megabytes) in one
psycopg pipeline. Under concurrent writers that pipeline sometimes never completes: the client
waits in `Pipeline.sync` while its backend waits for the rest of the INSERT (`ClientRead`),
holding the events table's lock, so every other write waits too (the Yagi-day benchmark hung in
4 of 4 runs; psycopg issue #685 describes the same hang with large pipelined data). The same
three statements sent one after another, in one transaction, cost two round trips more per
write and cannot hang that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

TOPIC = "adapters.event_store:LedgerRecorder"


class LedgerRecorder(PostgresApplicationRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            # The library's own statements: the table's lock (insert order = commit order for
            # readers that tail the log), the NOTIFY that wakes them, the INSERT ... RETURNING.
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
