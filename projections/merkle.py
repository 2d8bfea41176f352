"""The Merkle tree over the log (RFC 9162), kept as perfect subtrees: O(log n) work per event."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Notification

from domain import merkle
from projections.base import Projection
from projections.db import Cursor

Key = tuple[int, int]


class MerkleTree(Projection):
    name = "merkle"
    tables = ("merkle_leaves", "merkle_nodes")

    def __init__(self) -> None:
        super().__init__()
        self.size = 0
        self.cache: dict[Key, bytes] = {}

    def begin(self, cur: Cursor) -> None:
        super().begin(cur)
        # Leaves and nodes made in this batch are kept in memory; the rest is read on demand.
        self.size = leaf_count(cur)
        self.cache = {}

    def apply(self, cur: Cursor, event: Any, stored: Notification) -> None:
        leaf = merkle.leaf_hash(merkle.leaf_bytes(
            stored.id, stored.originator_id, stored.originator_version, stored.topic, stored.state))

        def get(level: int, idx: int) -> bytes:
            if (level, idx) not in self.cache:
                found = cur.execute("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?",
                                    (level, idx)).fetchone()
                assert found is not None, f"merkle node ({level}, {idx}) missing"
                self.cache[(level, idx)] = bytes.fromhex(found["hash"])
            return self.cache[(level, idx)]

        nodes = merkle.nodes_after_append(self.size, leaf, get)
        # Written at the end of the batch: nodes needed again meanwhile are in the cache.
        self.insert("INSERT INTO merkle_leaves (leaf_index, position, leaf_hash) VALUES (?, ?, ?)",
                    (self.size, stored.id, leaf.hex()))
        for level, idx, h in nodes:
            self.cache[(level, idx)] = h
            self.insert("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
                        (level, idx, h.hex()))
        self.size += 1


def fetcher(cur: Cursor) -> merkle.Fetch:
    """Read the perfect nodes a root or proof needs, in one query."""

    def fetch(keys: list[Key]) -> dict[Key, bytes]:
        found: dict[Key, bytes] = {}
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), 200):
            chunk = wanted[start:start + 200]
            where = " OR ".join("(level = ? AND idx = ?)" for _ in chunk)
            params = [v for key in chunk for v in key]
            for row in cur.execute(f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}",
                                   params).fetchall():
                found[(int(row["level"]), int(row["idx"]))] = bytes.fromhex(row["hash"])
        missing = set(wanted) - set(found)
        if missing:
            raise LookupError(f"merkle nodes missing: {sorted(missing)[:5]}")
        return found

    return fetch


def leaf_count(cur: Cursor) -> int:
    """How many leaves the tree has (leaf indexes have no gaps)."""
    row = cur.execute("SELECT MAX(leaf_index) AS last FROM merkle_leaves").fetchone()
    return 0 if row is None or row["last"] is None else int(row["last"]) + 1
