"""The service key (wraps every child's and donor's key; keys every stored digest of a request)
and the tables of wrapped keys."""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from domain.errors import Busy
from domain.privacy import derive_key, keyed_digest
from projections.db import Database

__all__ = ["ChildKeyTable", "DonorKeyTable", "keyed_digest", "load_service_key", "request_hash_key",
           "shred", "statement_key"]

SERVICE_KEY_BYTES = 32


def load_service_key(data_dir: Path, given_hex: str = "") -> bytes:
    """From settings if given, else from the data directory, made on first start (mode 0600)."""
    if given_hex:
        key = bytes.fromhex(given_hex)
        if len(key) != SERVICE_KEY_BYTES:
            raise ValueError("MINHBACH_SERVICE_KEY_HEX must be 64 hex characters")
        return key
    return secret_file(data_dir / "service.key", SERVICE_KEY_BYTES)


@lru_cache(maxsize=4)
def request_hash_key(service_key: bytes) -> bytes:
    """The secret keying idempotency records' request hashes (derived: nothing new to keep)."""
    return derive_key(service_key, "request-hash")


@lru_cache(maxsize=4)
def statement_key(service_key: bytes) -> bytes:
    """The secret keying a statement file's digest and its lines' keys: the file and a line's
    fields are bank customers' data, and a plain digest of them falls to a dictionary of guesses."""
    return derive_key(service_key, "bank-statement")


def secret_file(path: Path, size: int) -> bytes:
    """Random bytes kept in a file readable by the owner only, made on first use.

    Processes that start together on a new data directory (a server's workers) race to make it:
    each writes a whole key to a file of its own and links it into place, which only the first
    link does, so none reads a half-written key and all read the winner's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, made = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(size))
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process's key came first
                os.link(made, path)
        finally:
            os.unlink(made)
    key = path.read_bytes()
    if len(key) != size:
        raise ValueError(f"{path} holds {len(key)} bytes where a key has {size}: restore it from"
                         " the keys' backup (docs/deploy.md, Keys)")
    return key


class ChildKeyTable:
    """Wrapped child keys (migration 0001) and the keyed blind indexes of each child's folded name
    and place (migration 0009, domain.children.ChildKeys). Erasing a child deletes its row so that
    no copy of the key, nor an index that could confirm a guess, is left in the database's files
    (`delete`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def store(self, child_id: UUID, wrapped_key: str, name_index: str, match_index: str) -> None:
        with self.db.write() as cur:
            cur.execute("INSERT INTO child_keys (child_id, wrapped_key, name_index, match_index)"
                        " VALUES (?, ?, ?, ?)", (str(child_id), wrapped_key, name_index, match_index))

    def load(self, child_id: UUID) -> str | None:
        row = self.db.query_one("SELECT wrapped_key FROM child_keys WHERE child_id = ?",
                                (str(child_id),))
        return row["wrapped_key"] if row else None

    def delete(self, child_id: UUID) -> bool:
        """Delete the child's wrapped key and indexes; True if there was one."""
        return shred(self.db, "DELETE FROM child_keys WHERE child_id = ?", (str(child_id),))

    def named(self, name_index: str) -> list[UUID]:
        return [UUID(r["child_id"]) for r in self.db.query(
            "SELECT child_id FROM child_keys WHERE name_index = ? ORDER BY child_id", (name_index,))]

    def matching(self, match_index: str) -> list[UUID]:
        return [UUID(r["child_id"]) for r in self.db.query(
            "SELECT child_id FROM child_keys WHERE match_index = ? ORDER BY child_id", (match_index,))]

    def reindex(self, child_id: UUID, name_index: str, match_index: str) -> bool:
        """Replace the child's indexes (a corrected name or birth year); True if it has a row."""
        with self.db.write() as cur:
            cur.execute("UPDATE child_keys SET name_index = ?, match_index = ? WHERE child_id = ?",
                        (name_index, match_index, str(child_id)))
            return bool(cur.raw.rowcount)

    def match_groups(self) -> dict[str, list[UUID]]:
        """Every match index two rows or more share, with their children."""
        groups: dict[str, list[UUID]] = {}
        for r in self.db.query(
                "SELECT child_id, match_index FROM child_keys WHERE match_index IN ("
                " SELECT match_index FROM child_keys WHERE match_index IS NOT NULL"
                " GROUP BY match_index HAVING COUNT(*) > 1) ORDER BY match_index, child_id"):
            groups.setdefault(r["match_index"], []).append(UUID(r["child_id"]))
        return groups


def shred(db: Database, delete: str, params: tuple[str, ...]) -> bool:
    """Run a DELETE so that the deleted rows' bytes are gone from the SQLite file and its WAL.

    A plain DELETE in SQLite only marks the cell free: its bytes stay in the page (in the file
    and in every WAL frame holding that page) until overwritten. secure_delete zeroes them
    (whatever the build's default), and a TRUNCATE checkpoint writes the zeroed page into the
    file and empties the WAL, old frames included. A checkpoint kept from finishing by readers
    raises Busy: the key is deleted already, so asking again completes it. PostgreSQL keeps the
    dead row in its heap and WAL until vacuumed and recycled: what a dump or a query sees, no."""
    if db.dialect != "sqlite":
        with db.write() as cur:
            cur.execute(delete, params)
            return bool(cur.raw.rowcount)
    with db.write() as cur:
        before = cur.execute("PRAGMA secure_delete").fetchone()
        cur.execute("PRAGMA secure_delete = ON")
        try:
            cur.execute(delete, params)
            deleted = bool(cur.raw.rowcount)
        finally:
            # The connection is the thread's, shared with other work: give it back as it was.
            cur.execute(f"PRAGMA secure_delete = {int(before['secure_delete']) if before else 0}")
    checkpoint = db.query_one("PRAGMA wal_checkpoint(TRUNCATE)")
    if checkpoint is not None and checkpoint["busy"]:
        raise Busy("the database is busy: the deleted key may still be in its write-ahead log; "
                   "ask again")
    return deleted


class DonorKeyTable:
    """Wrapped donor keys and the keyed index of each donor's folded legal name (migration 0006).
    Erasing a donor deletes its row: the key and the index go together."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def store(self, donor_id: UUID, wrapped_key: str, name_index: str) -> None:
        with self.db.write() as cur:
            cur.execute("INSERT INTO donor_keys (donor_id, wrapped_key, name_index) VALUES (?, ?, ?)",
                        (str(donor_id), wrapped_key, name_index))

    def load(self, donor_id: UUID) -> str | None:
        row = self.db.query_one("SELECT wrapped_key FROM donor_keys WHERE donor_id = ?",
                                (str(donor_id),))
        return row["wrapped_key"] if row else None

    def delete(self, donor_id: UUID) -> bool:
        """Delete the donor's wrapped key and name index; True if there was one."""
        return shred(self.db, "DELETE FROM donor_keys WHERE donor_id = ?", (str(donor_id),))

    def named(self, name_index: str) -> list[UUID]:
        return [UUID(r["donor_id"]) for r in self.db.query(
            "SELECT donor_id FROM donor_keys WHERE name_index = ? ORDER BY donor_id", (name_index,))]

    def reindex(self, donor_id: UUID, name_index: str) -> bool:
        """Replace the donor's name index (a corrected legal name); True if it has a row."""
        with self.db.write() as cur:
            cur.execute("UPDATE donor_keys SET name_index = ? WHERE donor_id = ?",
                        (name_index, str(donor_id)))
            return bool(cur.raw.rowcount)
