"""The service key (wraps every child's key) and the table of wrapped child keys."""

from __future__ import annotations

import os
from pathlib import Path
from uuid import UUID

from projections.db import Database

SERVICE_KEY_BYTES = 32


def load_service_key(data_dir: Path, given_hex: str = "") -> bytes:
    """From settings if given, else from the data directory, made on first start (mode 0600)."""
    if given_hex:
        key = bytes.fromhex(given_hex)
        if len(key) != SERVICE_KEY_BYTES:
            raise ValueError("MINHBACH_SERVICE_KEY_HEX must be 64 hex characters")
        return key
    return secret_file(data_dir / "service.key", SERVICE_KEY_BYTES)


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
