"""Event metadata (DESIGN §4): who did it, under which request, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Meta = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """The caller of a command. Turned into the `meta` attribute carried by every event."""

    actor: str
    role: str
    request_id: str = ""
    idempotency_key: str | None = None
    note: str | None = None

    def meta(self, note: str | None = None) -> Meta:
        return {
            "actor": self.actor,
            "role": self.role,
            "request_id": self.request_id,
            "idempotency_key": self.idempotency_key,
            "note": note if note is not None else self.note,
        }


SYSTEM = Context(actor="system", role="admin")
