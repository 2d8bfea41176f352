"""What one command that makes many receipts (a statement import's chunk of up to 2,000 lines)
reads once for all of them, and what its own receipts add to the ledger's totals.

One command sees the season calendar and each donor and pledge as they were when it first read
them, as a single receipt does. Read once per receipt, they were two thirds of an import's own
time on a typhoon-day surge. And the total limit counts the command's earlier receipts, which
are in no read model and no log yet: checked one by one against the log alone, a chunk could pass
the limit by the sum of its receipts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


@dataclass
class CommandReads:
    """Made afresh for each attempt of a command (a retried one reads again). `load` reads an
    aggregate from the log (None if there is none, or it is not a `cls`)."""

    load: Callable[[UUID, type[Aggregate]], Aggregate | None]
    _found: dict[UUID, Aggregate | None] = field(default_factory=dict)
    _bounds: dict[str, int] = field(default_factory=dict)
    _own: dict[str, int] = field(default_factory=dict)

    def find(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        """The aggregate as it was first read in this command. Only for aggregates the command
        reads and does not change."""
        if aggregate_id not in self._found:
            self._found[aggregate_id] = self.load(aggregate_id, cls)
        found = self._found[aggregate_id]
        return found if isinstance(found, cls) else None

    def within_limit(self, figure: str, amount: int, bound: Callable[[bool], int],
                     limit: int) -> bool:
        """Whether the figure's total, with what this command added before and `amount`, stays
        within `limit`; `bound(exact)` is the ledger's (read once, and exactly only when the cheap
        bound is not enough). Counts `amount` as added when it does."""
        own = self._own.get(figure, 0)
        if figure not in self._bounds:
            self._bounds[figure] = bound(False)
        if self._bounds[figure] + own + amount > limit:
            self._bounds[figure] = bound(True)
            if self._bounds[figure] + own + amount > limit:
                return False
        self._own[figure] = own + amount
        return True
