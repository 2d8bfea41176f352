"""The service key (wraps every child's and donor's key; keys every stored digest of a request)
and the tables of wrapped keys."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from domain.privacy import derive_key, keyed_digest
from projections.db import Database

__all__ = ["ChildKeyTable", "DonorKeyTable", "keyed_digest", "load_service_key", "request_hash_key",
           "statement_key"]

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
    """Random bytes kept in a file readable by the owner only, made on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(size))
    return path.read_bytes()


class ChildKeyTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    def store(self, child_id: UUID, wrapped_key: str) -> None:
        with self.db.write() as cur:
            cur.execute("INSERT INTO child_keys (child_id, wrapped_key) VALUES (?, ?)",
                        (str(child_id), wrapped_key))

    def load(self, child_id: UUID) -> str | None:
        row = self.db.query_one("SELECT wrapped_key FROM child_keys WHERE child_id = ?",
                                (str(child_id),))
        return row["wrapped_key"] if row else None


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
        with self.db.write() as cur:
            cur.execute("DELETE FROM donor_keys WHERE donor_id = ?", (str(donor_id),))
            return bool(cur.raw.rowcount)

    def named(self, name_index: str) -> list[UUID]:
        return [UUID(r["donor_id"]) for r in self.db.query(
            "SELECT donor_id FROM donor_keys WHERE name_index = ? ORDER BY donor_id", (name_index,))]
