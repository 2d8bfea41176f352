"""The Merkle tree over the log (RFC 9162), kept as perfect subtrees: O(log n) work per event.

Each leaf's bytes (the public leaf of domain/leaf.py) are kept beside its hash, and the public
facts of the first event of the aggregates whose later leaves repeat them (`merkle_origins`)."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.persistence import Notification

from domain import merkle
from domain.leaf import ORIGIN_KINDS, Facts, leaf
from projections.base import Projection
from projections.db import Cursor

Key = tuple[int, int]
ORIGINS_LIMIT = 200_000  # origins kept in memory from batch to batch during a rebuild


class MerkleTree(Projection):
    name = "merkle"
    tables = ("merkle_leaves", "merkle_nodes", "merkle_origins")
    decodes = False  # a leaf is made from the stored event (domain/leaf.py)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0
        self.cache: dict[Key, bytes] = {}
        self.origins: dict[str, Facts] = {}

    def begin(self, cur: Cursor) -> None:
        super().begin(cur)
        if not self.rebuilding:
            # Leaves and nodes made in this batch are kept in memory; the rest is read on demand.
            self.size = leaf_count(cur)
            self.cache = {}
            self.origins = {}
            return
        # A rebuild's batches follow each other in one transaction: the size is known, and of
        # the nodes only the roots of the perfect subtrees on the right edge are needed again.
        self.cache = {(level, idx): h for (level, idx), h in self.cache.items()
                      if (self.size >> level) & 1 and idx == (self.size >> level) - 1}
        if len(self.origins) > ORIGINS_LIMIT:
            self.origins = {}  # read back on demand

    def clear(self, cur: Cursor) -> None:
        super().clear(cur)
        self.size, self.cache, self.origins = 0, {}, {}

    def _origin(self, cur: Cursor, originator_id: str) -> Facts:
        if originator_id not in self.origins:
            self.origins[originator_id] = origin_of(cur, originator_id)
        return self.origins[originator_id]

    def apply(self, cur: Cursor, event: Any, stored: Notification) -> None:
        oid = str(stored.originator_id)
        kind = stored.topic.rpartition(":")[2]
        first = stored.originator_version == 1
        data, facts = leaf(stored.id, stored.originator_id, stored.originator_version,
                           stored.topic, stored.state,
                           None if first else self._origin(cur, oid))
        if first and kind in ORIGIN_KINDS and facts is not None:
            self.origins[oid] = facts
            self.insert("INSERT INTO merkle_origins (originator_id, public) VALUES (?, ?)",
                        (oid, json.dumps(facts, ensure_ascii=False)))
        elif first:
            self.origins[oid] = None  # as origin_of would find: its later events need not ask
        leaf_hash = merkle.leaf_hash(data)

        def get(level: int, idx: int) -> bytes:
            if (level, idx) not in self.cache:
                found = cur.execute("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?",
                                    (level, idx)).fetchone()
                assert found is not None, f"merkle node ({level}, {idx}) missing"
                self.cache[(level, idx)] = bytes.fromhex(found["hash"])
            return self.cache[(level, idx)]

        nodes = merkle.nodes_after_append(self.size, leaf_hash, get)
        # Written at the end of the batch: nodes needed again meanwhile are in the cache.
        self.insert("INSERT INTO merkle_leaves (leaf_index, position, leaf_hash, leaf)"
                    " VALUES (?, ?, ?, ?)",
                    (self.size, stored.id, leaf_hash.hex(), data.decode("utf-8")))
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


def origin_of(cur: Cursor, originator_id: str) -> Facts:
    """The public facts of the first event of an aggregate, if its later leaves repeat them."""
    row = cur.execute("SELECT public FROM merkle_origins WHERE originator_id = ?",
                      (originator_id,)).fetchone()
    if row is None:
        return None
    facts: Facts = json.loads(row["public"])
    return facts


def stored_leaf(cur: Cursor, position: int) -> dict[str, Any] | None:
    """The leaf at a log position as the tree holds it: index, hash and bytes."""
    row = cur.execute("SELECT leaf_index, leaf_hash, leaf FROM merkle_leaves WHERE position = ?",
                      (position,)).fetchone()
    if row is None:
        return None
    return {"leaf_index": int(row["leaf_index"]), "leaf_hash": str(row["leaf_hash"]),
            "leaf": str(row["leaf"]).encode("utf-8")}


def level_hashes(cur: Cursor, level: int, start: int, end: int) -> list[bytes]:
    """The stored perfect nodes ``(level, start)`` … ``(level, end - 1)``, in order (a tile's
    hashes); LookupError if any is missing."""
    rows = cur.execute("SELECT idx, hash FROM merkle_nodes WHERE level = ? AND idx >= ? AND idx < ?"
                       " ORDER BY idx", (level, start, end)).fetchall()
    if [int(row["idx"]) for row in rows] != list(range(start, end)):
        raise LookupError(f"merkle nodes of level {level} in [{start}, {end}) are missing")
    return [bytes.fromhex(row["hash"]) for row in rows]


def leaves_between(cur: Cursor, start: int, end: int) -> list[bytes]:
    """The leaf bytes of leaf indexes ``start`` … ``end - 1``, in order; LookupError if any is
    missing (the projection is being rebuilt?)."""
    rows = cur.execute("SELECT leaf_index, leaf FROM merkle_leaves WHERE leaf_index >= ?"
                       " AND leaf_index < ? ORDER BY leaf_index", (start, end)).fetchall()
    if [int(row["leaf_index"]) for row in rows] != list(range(start, end)):
        raise LookupError(f"merkle leaves in [{start}, {end}) are missing")
    return [str(row["leaf"]).encode("utf-8") for row in rows]
