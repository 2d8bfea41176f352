"""Versioned DDL for the read-model and operational tables, applied with yoyo-migrations.

The event tables themselves belong to the eventsourcing library, which creates them.

Most migrations are plain SQL that SQLite and PostgreSQL both accept. A migration whose id ends
in `.postgresql` or `.sqlite` (e.g. `0004.public-speed.postgresql.sql`) is for that backend only:
it is neither applied nor recorded on the other one. Such a migration holds only what one backend
has and the other has no need of (an extension, an index type), never a table the code relies on.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from yoyo import get_backend, read_migrations
from yoyo.migrations import Migration

VERSIONS = Path(__file__).parent / "versions"
DIALECTS = ("postgresql", "sqlite")


def dialect_of(yoyo_uri: str) -> str:
    """`postgresql` or `sqlite`, from a yoyo URI (`postgresql+psycopg://...`, `sqlite:///...`)."""
    scheme = urlparse(yoyo_uri).scheme.split("+", 1)[0]
    return "postgresql" if scheme in ("postgresql", "postgres") else scheme


def for_dialect(migration: Migration, dialect: str) -> bool:
    """Whether `migration` belongs on a database of this dialect."""
    suffix = migration.id.rsplit(".", 1)[-1]
    return suffix not in DIALECTS or suffix == dialect


def apply(yoyo_uri: str, *, until: str | None = None) -> int:
    """Bring the database up to date; returns how many migrations were applied. Safe to repeat.

    `until` (a migration id such as "0003.bank") stops after that migration: for tests and
    benchmarks that need the schema as an older version left it."""
    backend = get_backend(yoyo_uri)
    dialect = dialect_of(yoyo_uri)
    migrations = read_migrations(str(VERSIONS)).filter(
        lambda m: for_dialect(m, dialect) and (until is None or m.id <= until))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    count = len(pending)
    backend.connection.close()
    return count
