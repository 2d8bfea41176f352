"""Scratch PostgreSQL databases for one benchmark run, dropped afterwards (also on error)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

# The same server the PostgreSQL tests use (tests/conftest.py); its database `test` is only
# used to create and drop the scratch databases.
ADMIN_URL = (os.environ.get("MINHBACH_BENCH_PG_URL") or os.environ.get("MINHBACH_TEST_PG_URL")
             or "postgresql://postgres@127.0.0.1:5432/test")
CONNECT_TIMEOUT_S = 5


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


@contextmanager
def fresh_database(label: str) -> Iterator[str]:
    """The URL of a brand-new, empty database; dropped (WITH FORCE) when the block ends."""
    name = f"mb_bench_{label}_{uuid.uuid4().hex[:10]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version() -> str:
    with _admin() as admin:
        row = admin.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"
