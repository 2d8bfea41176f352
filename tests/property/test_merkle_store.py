"""The Merkle tree as the projection stores it (leaves, and the nodes of every fourth level 4, 8,
… alone), on a real SQLite file and a real PostgreSQL: every root, inclusion and consistency proof
read from it equals domain/merkle.py's in-memory reference, for tree sizes around the tile edges
too; the projection, run in batches (a rebuild's, which carry the right edge, or live ones, which
read it back), leaves exactly one leaf per event and the nodes of the kept levels; and migration
0017 turns the tables of the earlier form (every perfect node) into this one, with the same
proofs."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import Notification
from hypothesis import given, settings
from hypothesis import strategies as st

import migrations
from domain import merkle, tiles
from projections.db import Database
from projections.merkle import STRIDE, MerkleTree, fetcher, level_hashes
from tests.conftest import fresh_pg_url

BIG = 65_536 + 520  # past the first level-2 node; every smaller size is a prefix of the store
EDGES = [n + d for n in (256, 512, 65_536) for d in (-2, -1, 0, 1, 2)] + [1, 2, 3, BIG]
SIZES = st.one_of(st.sampled_from(EDGES), st.integers(1, 1100), st.integers(1, BIG))
ORIGINATOR = uuid.UUID(int=1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path_factory.mktemp('merkle') / 'store.db'}" if request.param == "sqlite"
               else stack.enter_context(fresh_pg_url()))
        database = Database(url)
        stack.callback(database.close)
        migrations.apply(database.url.yoyo_uri())
        yield database


def event(position: int) -> Notification:
    # A kind with no public facts: its leaf is its position, topic and sealed digest.
    return Notification(id=position, originator_id=ORIGINATOR, originator_version=position,
                        topic="tests:Noise.Happened", state=b'{"n":%d}' % position)


def project(db: Database, tree: MerkleTree, batches: list[tuple[int, bool]]) -> None:
    """Apply events 1, 2, … in batches of these sizes; a batch marked True is one of a rebuild
    (from the start, in one transaction, the projection keeping its right edge from batch to
    batch), the others are live batches, each its own transaction, which read it back."""
    position = 0
    rebuild = [n for n, rebuilding in batches if rebuilding]
    with db.write() as cur:
        tree.clear(cur)
        tree.rebuilding = True
        for size in rebuild:
            tree.begin(cur)
            for _ in range(size):
                position += 1
                tree.apply(cur, None, event(position))
            tree.finish(cur)
        tree.rebuilding = False
    for size in (n for n, rebuilding in batches if not rebuilding):
        with db.write() as cur:
            tree.begin(cur)
            for _ in range(size):
                position += 1
                tree.apply(cur, None, event(position))
            tree.finish(cur)


def reference(db: Database) -> merkle.MemoryTree:
    rows = db.query("SELECT leaf_index, leaf FROM merkle_leaves ORDER BY leaf_index")
    assert [int(r["leaf_index"]) for r in rows] == list(range(len(rows)))
    return merkle.MemoryTree.from_data(str(r["leaf"]).encode("utf-8") for r in rows)


def stored_nodes(db: Database) -> dict[merkle.Key, bytes]:
    return {(int(r["level"]), int(r["idx"])): bytes.fromhex(r["hash"])
            for r in db.query("SELECT level, idx, hash FROM merkle_nodes")}


@pytest.fixture(scope="module")
def big(db: Database) -> merkle.MemoryTree:
    """BIG events projected: a rebuild in three batches, then two live batches."""
    project(db, MerkleTree(), [(40_000, True), (20_000, True), (5_000, True), (600, False),
                               (BIG - 65_600, False)])
    return reference(db)


def test_the_store_holds_one_leaf_per_event_and_the_kept_levels_alone(
        db: Database, big: merkle.MemoryTree) -> None:
    assert big.size == BIG
    leaves = db.query("SELECT leaf_index, position, leaf_hash FROM merkle_leaves ORDER BY leaf_index")
    assert [(int(r["leaf_index"]), int(r["position"])) for r in leaves] == [(i, i + 1) for i in range(BIG)]
    assert [bytes.fromhex(r["leaf_hash"]) for r in leaves] == big.leaves
    kept = {key: h for key, h in big.nodes.items() if key[0] and key[0] % STRIDE == 0}
    assert set(kept) == {(level, i) for level in (4, 8, 12, 16) for i in range(BIG >> level)}
    assert stored_nodes(db) == kept
    with db.read() as cur:
        assert level_hashes(cur, 0, 250, 260) == big.leaves[250:260]
        assert level_hashes(cur, 8, 254, 258) == [big.nodes[(8, i)] for i in range(254, 258)]
        assert level_hashes(cur, 4, 30, 34) == [big.nodes[(4, i)] for i in range(30, 34)]
        with pytest.raises(LookupError):
            level_hashes(cur, 16, 0, 2)
        with pytest.raises(ValueError):
            level_hashes(cur, 3, 0, 1)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=SIZES)
def test_proofs_from_the_store_equal_the_reference(db: Database, big: merkle.MemoryTree,
                                                   data: st.DataObject, size: int) -> None:
    with db.read() as cur:
        fetch = fetcher(cur)
        root = merkle.root(size, fetch)
        assert root == big.root(size)
        for index in {0, size - 1, data.draw(st.integers(0, size - 1), label="leaf")}:
            assert merkle.inclusion_path(index, size, fetch) == big.inclusion_path(index, size)
        for first in {1, size, data.draw(st.integers(1, size), label="first")}:
            assert merkle.consistency_proof(first, size, fetch) == big.consistency_proof(first, size)


def test_a_node_the_store_has_not_got_is_refused(db: Database, big: merkle.MemoryTree) -> None:
    with db.read() as cur:
        fetch = fetcher(cur)
        with pytest.raises(LookupError):
            fetch([(0, BIG)])
        with pytest.raises(LookupError):
            fetch([(3, (BIG >> 3))])  # leaves past the last one
        with pytest.raises(LookupError):
            fetch([(24, 0)])
        assert fetch([(9, 3), (7, 4)]) == {(9, 3): big.nodes[(9, 3)], (7, 4): big.nodes[(7, 4)]}


class Undo(Exception):
    pass


def test_a_row_missing_inside_a_range_is_found_missing(db: Database, big: merkle.MemoryTree) -> None:
    with pytest.raises(Undo), db.write() as cur:
        cur.execute("DELETE FROM merkle_leaves WHERE leaf_index = 10")
        cur.execute("DELETE FROM merkle_nodes WHERE level = 8 AND idx = 3")
        fetch = fetcher(cur)
        with pytest.raises(LookupError):
            fetch([(3, 1)])  # leaves 8 … 15
        with pytest.raises(LookupError):
            fetch([(10, 0)])  # the level-8 nodes 0 … 3
        with pytest.raises(LookupError):
            level_hashes(cur, 0, 0, tiles.WIDTH)
        assert fetch([(4, 1), (9, 0)]) == {(4, 1): big.nodes[(4, 1)], (9, 0): big.nodes[(9, 0)]}
        raise Undo  # the module's store is left whole
    with db.read() as cur:
        assert merkle.root(BIG, fetcher(cur)) == big.root()


BATCHES = st.lists(st.tuples(st.integers(1, 300), st.booleans()), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None)
@given(batches=BATCHES)
def test_any_batches_store_exactly_the_leaves_and_the_kept_levels(
        tmp_path_factory: pytest.TempPathFactory, batches: list[tuple[int, bool]]) -> None:
    # A store of its own: the module's is the big tree the other tests read.
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('batches') / 'store.db'}")
    try:
        migrations.apply(db.url.yoyo_uri())
        project(db, MerkleTree(), batches)
        tree = reference(db)
        assert tree.size == sum(n for n, _ in batches)
        assert stored_nodes(db) == {key: h for key, h in tree.nodes.items()
                                    if key[0] and key[0] % STRIDE == 0}
        with db.read() as cur:
            assert merkle.root(tree.size, fetcher(cur)) == tree.root()
    finally:
        db.close()


def test_migration_0017_leaves_the_kept_levels_and_the_same_proofs(database_url: str) -> None:
    tree = merkle.MemoryTree(merkle.leaf_hash(b"%d" % i) for i in range(BIG))
    db = Database(database_url)
    try:
        uri = db.url.yoyo_uri()
        migrations.apply(uri, until="0016.cosignatures")
        # The tables as the earlier projection left them: every perfect node, level 0 included.
        with db.write() as cur:
            cur.insert_many("INSERT INTO merkle_leaves (leaf_index, position, leaf_hash) VALUES (?, ?, ?)",
                            [(i, i + 1, h.hex()) for i, h in enumerate(tree.leaves)])
            cur.insert_many("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
                            [(level, idx, h.hex()) for (level, idx), h in tree.nodes.items()])
        assert len(stored_nodes(db)) == len(tree.nodes) == 2 * BIG - bin(BIG).count("1")
        assert migrations.apply(uri) == 1
        assert stored_nodes(db) == {key: h for key, h in tree.nodes.items()
                                    if key[0] and key[0] % STRIDE == 0}
        with db.read() as cur:
            fetch = fetcher(cur)
            for size in EDGES:
                first = max(size // 3, 1)
                assert merkle.root(size, fetch) == tree.root(size)
                assert merkle.inclusion_path(size // 2, size, fetch) == tree.inclusion_path(size // 2, size)
                assert merkle.consistency_proof(first, size, fetch) == tree.consistency_proof(first, size)
    finally:
        db.close()
