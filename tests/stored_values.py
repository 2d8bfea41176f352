"""Every value the database stores: the events' states and every read-model and operational row."""

from __future__ import annotations

from collections.abc import Iterator

from ledger.bootstrap import CompositionRoot


def tables(services: CompositionRoot) -> list[str]:
    db = services.db
    if db.dialect == "sqlite":
        rows = db.query("SELECT name FROM sqlite_master WHERE type = 'table'"
                        " AND name NOT LIKE 'sqlite_%'")
        return [r["name"] for r in rows]
    rows = db.query("SELECT table_name AS name FROM information_schema.tables"
                    " WHERE table_schema = current_schema()")
    return [r["name"] for r in rows]


def stored_values(services: CompositionRoot) -> Iterator[tuple[str, bytes]]:
    """(table, value as bytes) for every non-null cell of every table, events included."""
    for table in tables(services):
        for row in services.db.query(f'SELECT * FROM "{table}"'):  # names from the catalogue
            for value in row.values():
                if value is None:
                    continue
                if isinstance(value, memoryview | bytearray | bytes):
                    yield table, bytes(value)
                else:
                    yield table, str(value).encode("utf-8")
