"""Versioned DDL for the read-model and operational tables, applied with yoyo-migrations.

The event tables themselves belong to the eventsourcing library, which creates them."""

from __future__ import annotations

from pathlib import Path

from yoyo import get_backend, read_migrations

VERSIONS = Path(__file__).parent / "versions"


def apply(yoyo_uri: str) -> int:
    """Bring the database up to date; returns how many migrations were applied. Safe to repeat."""
    backend = get_backend(yoyo_uri)
    migrations = read_migrations(str(VERSIONS))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    count = len(pending)
    backend.connection.close()
    return count
