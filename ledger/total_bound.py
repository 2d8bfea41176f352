"""An upper bound of a ledger-wide total at the log's head (Ledger.within_limit), found without
bringing the read models up to date.

A figure's read model is exact at the position its projection has reached, and each event after
it adds at most MAX_AMOUNT_VND: that bound is one query, and it is enough while the projections
trail the log by fewer than about a thousand events. They trail by more while a statement is
imported (2,000 lines, some 8,000 events, in one transaction), and then every receipt had to apply
the log to the read models itself before it could be checked: a third of a typhoon-day surge's
time. So for the figures that many events move (domain.money.RAISED_BY) each process also reads
the events after the read model, each once, adding what each one adds to the figure; and only
as far as the bound needs, so that most commands of a surge read none."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from domain.money import MAX_AMOUNT_VND, MAX_TOTAL_VND, RAISED_BY
from projections.base import Projection
from projections.queries import TOTALS_SQL, Queries

log = logging.getLogger("minhbach.ledger")
READ_BATCH = 2_000


@dataclass
class _Tail:
    """The figure's read model as it was at `base`, and what the events after it, up to
    `reached`, can have added to it."""

    total: int
    base: int
    reached: int
    added: int = 0

    def bound(self, head: int) -> int:
        return self.total + self.added + max(0, head - self.reached) * MAX_AMOUNT_VND


class TotalBounds:
    def __init__(self, queries: Queries, app: Application[Any], projections: Sequence[Projection]) -> None:
        self.queries = queries
        self.app = app
        named = {p.name: p for p in projections}
        self._projection = {figure: named[TOTALS_SQL[figure][0]] for figure in RAISED_BY}
        self._tails: dict[str, _Tail] = {}
        self._lock = threading.Lock()  # one thread reads the new events; the others use its sum

    def upper(self, figure: str) -> int:
        """At least the figure's total at the log's head as it is now."""
        total, position, head = self.queries.total(figure)
        cheap = total + max(0, head - position) * MAX_AMOUNT_VND
        enough = MAX_TOTAL_VND - MAX_AMOUNT_VND  # room for any one amount
        if cheap <= enough or figure not in RAISED_BY:
            return cheap  # nothing a command may add can pass the limit yet
        return min(cheap, self.tail(figure, total, position, head, enough=enough))

    def tail(self, figure: str, total: int, position: int, head: int, *, enough: int) -> int:
        """The read model's `total` at `position`, or an older one of this process's, plus what
        each event after it up to `head` can add: read event by event as far as needed for the
        bound to be at most `enough`, the others counted at the largest amount."""
        with self._lock:
            tail = self._tails.get(figure)
            if tail is None or (position >= tail.reached and position > tail.base):
                # The read model has every event read here, and more: start again from it.
                tail = self._tails[figure] = _Tail(total, position, position)
            while tail.reached < head and tail.bound(head) > enough:
                batch = self.app.recorder.select_notifications(
                    start=tail.reached + 1, limit=READ_BATCH, stop=head)
                if not batch:
                    break
                tail.added += sum(self._adds(figure, stored) for stored in batch)
                tail.reached = batch[-1].id
            return tail.bound(head)

    def _adds(self, figure: str, stored: Notification) -> int:
        projection = self._projection[figure]
        if not projection.reads(stored.topic):
            return 0
        kind = stored.topic.rpartition(":")[2]
        if kind not in RAISED_BY[figure]:
            return MAX_AMOUNT_VND
        field = RAISED_BY[figure][kind]
        if field is None:
            return 0
        try:
            amount = int(getattr(self.app.mapper.to_domain_event(stored), field))
        except Exception as exc:  # its projection stops on it too: count the most it could add
            log.warning("event %d (%s) could not be read for the %s total's bound: %s",
                        stored.id, kind, figure, type(exc).__name__)
            return MAX_AMOUNT_VND
        return max(0, amount)
