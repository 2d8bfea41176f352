"""The Merkle tree over the log (RFC 9162), kept as every fourth level: O(log n) work per event.

Stored: one row per leaf (`merkle_leaves`: its hash, level 0, and its bytes, the public leaf of
domain/leaf.py), and of the other perfect subtrees only those at the levels 4, 8, 12, …
(`merkle_nodes`; the tile levels 8, 16, … that C2SP tlog-tiles serve are among them): about one
row in 16 per event. Every other perfect node a root or proof needs is the MTH of at most 8
hashes of the kept level below it, computed when it is read (domain/tiles.py, :func:`fetcher`).
Also kept: the public facts of the first event of the aggregates whose later leaves repeat them
(`merkle_origins`)."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.persistence import Notification

from domain import merkle, tiles
from domain.leaf import ORIGIN_KINDS, Facts, leaf
from projections.base import Projection
from projections.db import Cursor

# Of the perfect nodes above the leaves, those of every STRIDE-th level are stored (the tile
# levels 8, 16, … among them, which the tiles serve): one row per 16 events, where every node
# was about one per event, and a proof reads at most 15 hashes per kept level (at 8 it read 255).
STRIDE = 4
assert tiles.HEIGHT % STRIDE == 0
ORIGINS_LIMIT = 200_000  # origins kept in memory from batch to batch during a rebuild


class MerkleTree(Projection):
    name = "merkle"
    tables = ("merkle_leaves", "merkle_nodes", "merkle_origins")
    decodes = False  # a leaf is made from the stored event (domain/leaf.py)

    def __init__(self) -> None:
        super().__init__()
        # The right edge (the roots of its perfect subtrees, ≤ 40): all an append needs.
        self.frontier = merkle.Frontier()
        self.origins: dict[str, Facts] = {}

    def begin(self, cur: Cursor) -> None:
        super().begin(cur)
        if not self.rebuilding:
            # Read once per batch: the right edge is the root's decomposition (merkle.root_keys).
            keys = merkle.root_keys(leaf_count(cur))
            found = fetcher(cur)(keys) if keys else {}
            self.frontier = merkle.Frontier((level, found[(level, idx)]) for level, idx in keys)
            self.origins = {}
            return
        # A rebuild's batches follow each other in one transaction: the size and the right edge
        # carried from the batch before are what the tables hold.
        if len(self.origins) > ORIGINS_LIMIT:
            self.origins = {}  # read back on demand

    def clear(self, cur: Cursor) -> None:
        super().clear(cur)
        self.frontier, self.origins = merkle.Frontier(), {}

    def _origin(self, cur: Cursor, originator_id: str) -> Facts:
        if originator_id not in self.origins:
            self.origins[originator_id] = origin_of(cur, originator_id)
        return self.origins[originator_id]

    def apply(self, cur: Cursor, event: Any, stored: Notification) -> None:
        oid = str(stored.originator_id)
        kind = stored.topic.rpartition(":")[2]
        first = stored.originator_version == 1
        data, facts, public = leaf(stored.id, oid, stored.originator_version, stored.topic,
                                   stored.state, None if first else self._origin(cur, oid))
        if first and kind in ORIGIN_KINDS and facts is not None:
            self.origins[oid] = facts
            self.insert("INSERT INTO merkle_origins (originator_id, public) VALUES (?, ?)",
                        (oid, public.decode("utf-8")))
        elif first:
            self.origins[oid] = None  # as origin_of would find: its later events need not ask
        leaf_hash = merkle.leaf_hash(data)
        # Written at the end of the batch; the right edge is all the batch reads again.
        self.insert("INSERT INTO merkle_leaves (leaf_index, position, leaf_hash, leaf)"
                    " VALUES (?, ?, ?, ?)",
                    (self.frontier.size, stored.id, leaf_hash.hex(), data.decode("utf-8")))
        made: list[tuple[int, int, bytes]] = []
        self.frontier.append(leaf_hash, made)
        for level, idx, h in made:
            if level % STRIDE == 0:
                self.insert("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
                            (level, idx, h.hex()))


GAP = 32
"""Hashes left out between two runs of one level that are still read as one range: fewer,
longer ranges cost less than more, shorter ones (an inclusion path's siblings at levels 0 … 3
are the whole block of 16 leaves of its leaf but that leaf)."""
TERMS = 200  # ranges per query


def _ranges(runs: list[tiles.Run]) -> list[tiles.Run]:
    """The runs, by level and start, joined where they overlap or nearly touch."""
    out: list[list[int]] = []
    for tlevel, first, count in sorted(runs):
        last = out[-1] if out else None
        if last is not None and last[0] == tlevel and first <= last[1] + last[2] + GAP:
            last[2] = max(last[2], first + count - last[1])
        else:
            out.append([tlevel, first, count])
    return [(tlevel, first, count) for tlevel, first, count in out]


def _term(dialect: str, tlevel: int) -> str:
    """A query for the stored hashes of one range of a kept level, as rows ``(t, first, last,
    n, hashes)``: hashes ``first`` … ``last`` (``n`` of them) concatenated in hex."""
    index, column, where = (
        ("leaf_index", "leaf_hash", "FROM merkle_leaves WHERE leaf_index BETWEEN ? AND ?")
        if tlevel == 0 else ("idx", "hash", "FROM merkle_nodes WHERE level = ? AND idx BETWEEN ? AND ?"))
    if dialect == "postgresql":
        # One row per range: a proof reads some 500 hashes, and a row costs more in Python than
        # the hash it brings. (SQLite's group_concat keeps no order before 3.44: a row each.)
        return (f"SELECT {tlevel} AS t, MIN({index}) AS first, MAX({index}) AS last, COUNT(*) AS n,"
                f" string_agg({column}, '' ORDER BY {index}) AS hashes {where}")
    return f"SELECT {tlevel} AS t, {index} AS first, {index} AS last, 1 AS n, {column} AS hashes {where}"


def _read_runs(cur: Cursor, runs: list[tiles.Run]) -> dict[tuple[int, int], bytes]:
    """The kept hashes of these runs, ``{(L, i): hash}``, each range an index range scan
    and all of them one query (UNION ALL): level 0 from the leaves, the others from the nodes.
    A range with a row missing inside it gives nothing (its nodes are then missing)."""
    found: dict[tuple[int, int], bytes] = {}
    ranges = _ranges(runs)
    for start in range(0, len(ranges), TERMS):
        parts: list[str] = []
        params: list[int] = []
        for tlevel, first, count in ranges[start:start + TERMS]:
            parts.append(_term(cur.dialect, tlevel))
            params += ([] if tlevel == 0 else [STRIDE * tlevel]) + [first, first + count - 1]
        for row in cur.execute(" UNION ALL ".join(parts), params).fetchall():
            n = int(row["n"])
            if not n or int(row["last"]) - int(row["first"]) + 1 != n:
                continue
            tlevel, first, data = int(row["t"]), int(row["first"]), bytes.fromhex(row["hashes"])
            size = merkle.HASH_SIZE
            found.update(((tlevel, first + k), data[k * size:(k + 1) * size]) for k in range(n))
    return found


def fetcher(cur: Cursor) -> merkle.Fetch:
    """Read the perfect nodes a root or proof needs: the kept hashes below them in one
    query, the rest computed (domain/tiles.py); LookupError if any is missing."""
    return tiles.fetch_below(lambda runs: _read_runs(cur, runs), STRIDE)


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
    """The stored perfect nodes ``(level, start)`` … ``(level, end - 1)`` of a kept level (0: the
    leaf hashes), in order (a tile's hashes); LookupError if any is missing."""
    tlevel, rest = divmod(level, STRIDE)
    if rest:
        raise ValueError(f"level {level} is not kept: its nodes are not stored")
    if end <= start:
        return []
    found = _read_runs(cur, [(tlevel, start, end - start)])
    try:
        return [found[(tlevel, i)] for i in range(start, end)]
    except KeyError:
        raise LookupError(f"merkle nodes of level {level} in [{start}, {end}) are missing") from None


def leaves_between(cur: Cursor, start: int, end: int) -> list[bytes]:
    """The leaf bytes of leaf indexes ``start`` … ``end - 1``, in order; LookupError if any is
    missing (the projection is being rebuilt?)."""
    rows = cur.execute("SELECT leaf_index, leaf FROM merkle_leaves WHERE leaf_index >= ?"
                       " AND leaf_index < ? ORDER BY leaf_index", (start, end)).fetchall()
    if [int(row["leaf_index"]) for row in rows] != list(range(start, end)):
        raise LookupError(f"merkle leaves in [{start}, {end}) are missing")
    return [str(row["leaf"]).encode("utf-8") for row in rows]
