"""Signed tree heads (DESIGN §5): Ed25519 over the canonical JSON of {tree_size, root_hash, timestamp}."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.keys import secret_file
from domain import merkle
from projections.db import Database
from projections.merkle import fetcher, leaf_count

KEY_BYTES = 32


def load_signing_key(data_dir: Path, given_hex: str = "") -> Ed25519PrivateKey:
    """From settings if given, else `signing.key` in the data directory, made on first start."""
    if given_hex:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(given_hex))
    return key_file(data_dir / "signing.key")


def key_file(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 key kept as its 32 raw bytes in `path` (mode 0600), made on first use: the
    log's signing key, a witness's own."""
    return Ed25519PrivateKey.from_private_bytes(secret_file(path, KEY_BYTES))


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def signed_part(head: dict[str, Any]) -> bytes:
    return merkle.canonical_json({k: head[k] for k in ("tree_size", "root_hash", "timestamp")})


def verify_head(public_hex: str, head: dict[str, Any]) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(head["signature"]), signed_part(head))
    except (InvalidSignature, ValueError):
        return False
    return True


class TreeHeads:
    """Publishes and reads signed tree heads; every one ever published is kept."""

    def __init__(self, db: Database, key: Ed25519PrivateKey) -> None:
        self.db = db
        self.key = key
        self.public_key = public_key_hex(key)

    def latest(self) -> dict[str, Any] | None:
        return self.db.query_one(
            "SELECT tree_size, root_hash, timestamp, signature FROM tree_heads"
            " ORDER BY tree_size DESC LIMIT 1")

    def all(self, after: int = -1, limit: int = 1000) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT tree_size, root_hash, timestamp, signature FROM tree_heads WHERE tree_size > ?"
            " ORDER BY tree_size LIMIT ?", (after, limit))

    def publish(self) -> dict[str, Any] | None:
        """Sign the tree as the projection has it now, if it grew since the last head."""
        with self.db.read() as cur:
            size = leaf_count(cur)
            last = cur.execute("SELECT MAX(tree_size) AS n FROM tree_heads").fetchone()
            if size == 0 or (last and last["n"] is not None and int(last["n"]) >= size):
                return None
            root = merkle.root(size, fetcher(cur))
        head: dict[str, Any] = {"tree_size": size, "root_hash": root.hex(),
                                "timestamp": int(time.time() * 1000)}
        head["signature"] = self.key.sign(signed_part(head)).hex()
        with self.db.write() as cur:
            cur.execute(
                "INSERT INTO tree_heads (tree_size, root_hash, timestamp, signature) VALUES (?,?,?,?)"
                " ON CONFLICT (tree_size) DO NOTHING",
                (head["tree_size"], head["root_hash"], head["timestamp"], head["signature"]))
        return head
