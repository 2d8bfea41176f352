"""An applied Idempotency-Key: saved in the same transaction as the command's own events,
so a key is applied at most once even when two requests race (one of them conflicts)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import IdempotencyKeyReused
from domain.meta import Meta


class IdempotencyRecord(Aggregate):
    @event("Applied")
    def __init__(self, *, id: UUID, request_hash: str, response: dict[str, Any], meta: Meta,
                 version: int = 0) -> None:
        """A command was applied under this key; `response` is its answer, in the shape of
        `version` (ledger/answers.py; 0 for records made before answers had versions)."""
        self.request_hash = request_hash
        self.response = response
        self.version = version

    def replay(self, request_hash: str) -> dict[str, Any]:
        if request_hash != self.request_hash:
            raise IdempotencyKeyReused("this Idempotency-Key was used before with a different request")
        return self.response
