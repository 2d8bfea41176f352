"""Event metadata (DESIGN §4): who did it, under which request, and why."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

Meta = dict[str, Any]

SALT_BYTES = 16
"""Random bytes in every event's metadata: a leaf's `sealed` digest (domain/leaf.py) covers them,
so it can't be recomputed from guessed contents (DESIGN §5: at least 128 random bits)."""


@dataclass(frozen=True)
class Context:
    """The caller of a command. Turned into the `meta` attribute carried by every event."""

    actor: str
    role: str
    request_id: str = ""
    idempotency_key: str | None = None
    note: str | None = None
    # (proposal id, proposer) when the command carries out an approved four-eyes proposal: the
    # events it makes name who proposed them beside the approver, the actor (domain/proposals.py).
    proposal: tuple[UUID, str] | None = None

    def meta(self, note: str | None = None) -> Meta:
        meta: Meta = {
            "actor": self.actor,
            "role": self.role,
            "request_id": self.request_id,
            "idempotency_key": self.idempotency_key,
            "note": note if note is not None else self.note,
            # Fresh per call: events of one command that share a meta share a salt, which is
            # enough, since none of them is published in clear.
            "salt": secrets.token_hex(SALT_BYTES),
        }
        if self.proposal is not None:
            meta["proposal"] = {"id": self.proposal[0], "proposed_by": self.proposal[1]}
        return meta


SYSTEM = Context(actor="system", role="admin")
