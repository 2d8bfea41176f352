"""Deterministic ids for aggregates whose identity is a natural key."""

from __future__ import annotations

from uuid import UUID, uuid5

_NAMESPACE = UUID("6f1c3c2e-5d0b-4d7e-9a55-2f0f6b1f8a01")


def as_id(value: UUID | str) -> UUID:
    """An id as the domain holds it. Events stored before ids were one type carry the ids
    nested in their payloads (draws, pieces, lines, merged support) as text; the apply code of
    each aggregate reads them through this, so old and new events give the same state."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        return UUID(value)
    raise ValueError(f"not an id: {value!r}")


def programme_id(season: str, commune: str, category: str) -> UUID:
    return uuid5(_NAMESPACE, f"programme|{season}|{commune}|{category}")


def need_id(season: str, commune: str, category: str) -> UUID:
    return uuid5(_NAMESPACE, f"need|{season}|{commune}|{category}")


def idempotency_id(actor: str, key: str) -> UUID:
    return uuid5(_NAMESPACE, f"idempotency|{actor}|{key}")


def child_code(child_id: UUID) -> str:
    return "TE-" + child_id.hex[:8].upper()


def seasons_id() -> UUID:
    """The one season calendar of a ledger."""
    return uuid5(_NAMESPACE, "seasons")


def partners_id() -> UUID:
    """The one list of partner organisations an admin added."""
    return uuid5(_NAMESPACE, "partners")
