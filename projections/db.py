"""The read-model database: the same SQLite file or PostgreSQL database as the events.

One small wrapper so projections and queries write SQL once (with `?` placeholders) and run on
both. Rows come back as dicts.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

import psycopg
from psycopg.adapt import Buffer, Dumper
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Row = dict[str, Any]
_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \([?, ]+\)")
SQLITE_BUSY_TIMEOUT_S = 30
POOL_TIMEOUT_S = 5
MAX_PREPARED_PARAMS = 16  # Cursor.execute
SCHEMA_LOCK_KEY = 0x4D42_5343  # "MBSC": the advisory lock of Database.schema_lock
# The SQLite file holds wrapped child keys and personal data: owner only. SQLite gives its -wal,
# -shm and -journal files the main file's mode, so creating that one 0600 covers them all.
SQLITE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
log = logging.getLogger("minhbach.db")


def create_private_sqlite(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite or the eventsourcing library opens it (either
    would create it 0644 under the usual umask); tighten one an older release left readable.

    The file is made aside, already in WAL mode, and linked into place: processes starting
    together on a new store otherwise each found an empty file in rollback mode and switched it
    to WAL at once, and SQLite refuses a concurrent switch with "database is locked" without
    waiting out the busy timeout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        try:
            os.chmod(aside, SQLITE_MODE)  # mkstemp's is 0600 already: say it, not rely on it
            with closing(sqlite3.connect(aside)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
            os.link(aside, path)
        except FileExistsError:
            log.debug("%s was made by another process as this one started", path)
        finally:
            os.unlink(aside)
    for name in (path, *(path.with_name(path.name + s) for s in SQLITE_SIDE_FILES)):
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            log.warning("%s was readable by others (mode %o): now 0600", name, mode)
            os.chmod(name, mode & 0o700)


@dataclass(frozen=True)
class DatabaseUrl:
    """`sqlite:///relative/path.db`, `sqlite:////absolute/path.db` or `postgresql://u:p@h:port/db`."""

    url: str

    @property
    def dialect(self) -> str:
        scheme = urlparse(self.url).scheme
        if scheme == "sqlite":
            return "sqlite"
        if scheme in ("postgresql", "postgres"):
            return "postgresql"
        raise ValueError(f"unsupported database URL {self.url!r}: use sqlite:/// or postgresql://")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def pg_conninfo(self) -> str:
        parts = urlparse(self.url)
        fields = {
            "host": parts.hostname or "127.0.0.1",
            "port": str(parts.port or 5432),
            "dbname": parts.path.lstrip("/") or "postgres",
            "user": unquote(parts.username) if parts.username else "postgres",
        }
        if parts.password:
            fields["password"] = unquote(parts.password)
        return " ".join(f"{k}={v}" for k, v in fields.items())

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for the same database."""
        if self.dialect == "sqlite":
            create_private_sqlite(self.sqlite_path)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": str(SQLITE_BUSY_TIMEOUT_S),
            }
        parts = urlparse(self.url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username) if parts.username else "postgres",
            "POSTGRES_PASSWORD": unquote(parts.password) if parts.password else "",
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
            # How long a request waits for a connection: while the database is down, a 503 in
            # seconds, not a request held for the library's default 30.
            "POSTGRES_CONNECT_TIMEOUT": str(POOL_TIMEOUT_S),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        }

    def yoyo_uri(self) -> str:
        if self.dialect == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        parts = urlparse(self.url)
        return self.url.replace(parts.scheme + "://", "postgresql+psycopg://", 1)


# The one place where ids become text for the read models on SQLite: the domain holds them as
# UUIDs, the tables as text (sqlite3 can't bind a UUID by itself). On PostgreSQL, _UuidAsText
# does it. Registered with the module, so that sqlite3 converts each value in C.
sqlite3.register_adapter(UUID, str)


class _UuidAsText(Dumper):
    """A UUID parameter (or COPY field) goes to PostgreSQL as its text, `str(uuid)`, untyped as a
    Python str is: the read models' id columns are text. (psycopg would send it as a uuid, and
    in COPY as 32 bare hex digits.) Done by the driver, not by copying every row in Python."""

    def dump(self, obj: UUID) -> Buffer:
        return str(obj).encode()


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_dumper(UUID, _UuidAsText)


class Cursor:
    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw = raw
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self.dialect == "postgresql":
            # A statement of many parameters (an IN list of ids) is never prepared. psycopg
            # prepares a statement run five times, and PostgreSQL may then keep one generic plan
            # for the connection's life: made while a table was small, a sequential scan that
            # compares each row with every parameter in turn (an IN list of parameters can't be
            # hashed as one of values can). By the fifth day of figure (h), a statement import's
            # look-up of its line ids took 1.5-3 s per 500 ids on the server's connections, and
            # 5 ms with a plan made for the values.
            prepare = False if len(params) > MAX_PREPARED_PARAMS else None
            self.raw.execute(sql.replace("?", "%s"), params, prepare=prepare)
        else:
            self.raw.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql":
            self.raw.executemany(sql.replace("?", "%s"), rows)
        else:
            self.raw.executemany(sql, rows)

    def insert_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Plain INSERTs of many rows: COPY on PostgreSQL (far cheaper per row), else executemany."""
        match = _INSERT.fullmatch(sql)
        if self.dialect != "postgresql" or match is None or not rows:
            self.executemany(sql, rows)
            return
        table, columns = match.group(1), match.group(2)
        with self.raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def fetchone(self) -> Row | None:
        row = self.raw.fetchone()
        return dict(row) if row is not None else None

    def fetchall(self) -> list[Row]:
        return [dict(r) for r in self.raw.fetchall()]


# Whether this request's reads go to the read replica (set per request by the API, see
# api/replica.py). Writes never do, and a context that did not choose reads the primary.
ON_REPLICA: ContextVar[bool] = ContextVar("on_replica", default=False)


class Database:
    """Connections to the read-model tables, thread-safe.

    With a `replica` (a PostgreSQL streaming replica of this database), reads in a context that
    chose it (`ON_REPLICA`) go there; everything else, and every write, to this database."""

    def __init__(self, url: str, *, pool_size: int = 10, replica: Database | None = None) -> None:
        self.replica = replica
        self.url = DatabaseUrl(url)
        self.dialect = self.url.dialect
        self._local = threading.local()
        self._pool: ConnectionPool[Any] | None = None
        if self.dialect == "sqlite":
            create_private_sqlite(self.url.sqlite_path)
        if self.dialect == "postgresql":
            self._pool = ConnectionPool(
                self.url.pg_conninfo, min_size=1, max_size=pool_size, open=True,
                timeout=POOL_TIMEOUT_S,
                # Autocommit, so a lone SELECT is one round trip; blocks of work use
                # explicit transactions (write() and read()).
                kwargs={"row_factory": dict_row, "autocommit": True}, configure=_configure,
            )

    @property
    def events_table(self) -> str:
        return "stored_events" if self.dialect == "sqlite" else "ledger_events"

    def _sqlite(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.url.sqlite_path, isolation_level=None,
                                   check_same_thread=False, timeout=SQLITE_BUSY_TIMEOUT_S)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """One transaction: everything inside commits together or not at all."""
        if self._pool is None:
            conn = self._sqlite()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Cursor(conn.cursor(), "sqlite")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return
        # Pipeline mode was tried for projection batches (×1.5 on rebuilds) and dropped: on a
        # 200,000-event rebuild a read inside the batch got an earlier INSERT's result.
        with self._pool.connection() as pg, pg.transaction(), pg.cursor() as cur:
            yield Cursor(cur, "postgresql")

    def _reader(self) -> Database | None:
        return self.replica if self.replica is not None and ON_REPLICA.get() else None

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A consistent snapshot for one query or a few."""
        if (replica := self._reader()) is not None:
            with replica.read() as cur:
                yield cur
            return
        if self._pool is None:
            conn = self._sqlite()
            conn.execute("BEGIN")
            try:
                yield Cursor(conn.cursor(), "sqlite")
            finally:
                conn.execute("ROLLBACK")
            return
        with self._pool.connection() as pg, pg.transaction(), pg.cursor() as cur:
            yield Cursor(cur, "postgresql")

    @contextmanager
    def _single(self) -> Iterator[Cursor]:
        """For one statement: no BEGIN/COMMIT around it (a lone SELECT is atomic anyway)."""
        if (replica := self._reader()) is not None:
            with replica._single() as cur:
                yield cur
            return
        if self._pool is None:
            yield Cursor(self._sqlite().cursor(), "sqlite")
            return
        with self._pool.connection() as pg, pg.cursor() as cur:
            yield Cursor(cur, "postgresql")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._single() as cur:
            return cur.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with self._single() as cur:
            return cur.execute(sql, params).fetchone()

    def ping(self, timeout_s: float) -> None:
        """One round trip, waiting at most `timeout_s` for a connection (a probe must not wait
        the pool's own 30 s)."""
        if self._pool is None:
            self.query_one("SELECT 1")
            return
        with self._pool.connection(timeout=timeout_s) as conn:
            conn.execute("SELECT 1")

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held while a process creates or checks the schema as it starts (the event store's
        tables and function, the migrations). PostgreSQL refuses two CREATE OR REPLACE FUNCTION
        of one function at once ("tuple concurrently updated"): two API workers and a projection
        worker started together failed that way. A session lock on a connection of its own, so
        the pool's connections stay free for the work it guards. SQLite serialises writers
        itself."""
        if self._pool is None:
            yield
            return
        with psycopg.connect(self.url.pg_conninfo, autocommit=True,
                             connect_timeout=POOL_TIMEOUT_S) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
            yield  # the lock goes with the session, however the block ends

    def listen_connection(self) -> psycopg.Connection[Any]:
        """A separate autocommit connection for LISTEN (PostgreSQL only)."""
        return psycopg.connect(self.url.pg_conninfo, autocommit=True)

    def close(self) -> None:
        if self.replica is not None:
            self.replica.close()
        if self._pool is not None:
            self._pool.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
