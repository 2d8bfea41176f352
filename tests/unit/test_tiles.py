"""domain/tiles.py against the C2SP tlog-tiles spec and against domain/merkle.py's proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import merkle, tiles
from domain.tiles import WIDTH, Tile


def fake_hashes(n: int) -> list[bytes]:
    # Leaf hashes only (no leaf bytes): big trees stay cheap.
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]


_TREES: dict[int, merkle.MemoryTree] = {}


def tree_of(size: int) -> merkle.MemoryTree:
    if size not in _TREES:
        _TREES[size] = merkle.MemoryTree(fake_hashes(size))
    return _TREES[size]


def files_of(tree: merkle.MemoryTree, size: int) -> dict[Tile, bytes]:
    """The tiles of the tree's first `size` leaves, as a writer builds them from stored nodes."""
    return {t: tiles.tile_bytes([tree.nodes[k] for k in tiles.tile_keys(t)])
            for t in tiles.tiles_for(size)}


def reader(files: dict[Tile, bytes], log: list[Tile] | None = None) -> tiles.ReadTile:
    def read(tile: Tile) -> bytes:
        if log is not None:
            log.append(tile)
        return files[tile]  # KeyError: a tile the tree size does not have

    return read


# ---- paths -----------------------------------------------------------------------------------


def test_index_encoding_matches_the_spec() -> None:
    assert tiles.encode_index(1234067) == "x001/x234/067"
    assert tiles.encode_index(0) == "000"
    assert tiles.encode_index(5) == "005"
    assert tiles.encode_index(1000) == "x001/000"
    assert tiles.encode_index(999) == "999"
    assert tiles.encode_index(1_000_000) == "x001/x000/000"


def test_tile_and_bundle_paths() -> None:
    assert Tile(0, 1234067, WIDTH).path == "tile/0/x001/x234/067"
    assert Tile(2, 3, 17).path == "tile/2/003.p/17"
    assert Tile(0, 3, 17).entries_path == "tile/entries/003.p/17"
    assert Tile(0, 1234067, WIDTH).entries_path == "tile/entries/x001/x234/067"
    with pytest.raises(ValueError):
        _ = Tile(1, 0, 5).entries_path
    with pytest.raises(ValueError):
        _ = Tile(0, 0, 0).path
    with pytest.raises(ValueError):
        tiles.encode_index(-1)


@given(st.integers(0, 10**15))
def test_index_encoding_is_decodable_and_prefix_free(n: int) -> None:
    parts = tiles.encode_index(n).split("/")
    assert all(p.startswith("x") and len(p) == 4 for p in parts[:-1])
    assert len(parts[-1]) == 3 and parts[-1].isdigit()
    assert int("".join(p.lstrip("x") for p in parts)) == n
    assert len(parts) == 1 or parts[0] != "x000"  # no additional leading zero elements


def test_the_spec_examples_of_partial_tiles() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0
    # tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    # partial level 2 tile of width 1."
    got = tiles.tiles_for(70_000)
    assert [t for t in got if t.level == 0 and t.full] == [Tile(0, n, WIDTH) for n in range(273)]
    assert [t for t in got if not (t.level == 0 and t.full)] == [
        Tile(0, 273, 112), Tile(1, 0, WIDTH), Tile(1, 1, 17), Tile(2, 0, 1)]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"
    assert tiles.tiles_for(256) == [Tile(0, 0, WIDTH), Tile(1, 0, 1)]
    assert tiles.tiles_for(0) == []
    assert tiles.tiles_for(1) == [Tile(0, 0, 1)]
    assert tiles.tiles_for(255) == [Tile(0, 0, 255)]
    assert tiles.tiles_for(257) == [Tile(0, 0, WIDTH), Tile(0, 1, 1), Tile(1, 0, 1)]


@given(st.integers(0, 1 << 40))
def test_each_level_has_size_over_256_to_the_level_hashes(size: int) -> None:
    by_level: dict[int, int] = {}
    for t in tiles.tiles_for(size) if size < 1 << 20 else []:
        by_level[t.level] = by_level.get(t.level, 0) + t.width
    for level, count in by_level.items():
        assert count == size // WIDTH ** level


# ---- bytes -----------------------------------------------------------------------------------


@given(st.lists(st.binary(max_size=600), min_size=1, max_size=WIDTH))
def test_bundles_round_trip(entries: list[bytes]) -> None:
    data = tiles.bundle(entries)
    assert tiles.parse_bundle(data) == entries
    assert data[:2] == len(entries[0]).to_bytes(2, "big")


def test_bundle_limits() -> None:
    assert tiles.parse_bundle(tiles.bundle([b"\xff" * 0xFFFF])) == [b"\xff" * 0xFFFF]
    with pytest.raises(ValueError):
        tiles.bundle([b"x" * 0x10000])
    with pytest.raises(ValueError):
        tiles.bundle([])
    with pytest.raises(ValueError):
        tiles.bundle([b""] * (WIDTH + 1))
    for bad in (b"\x00", b"\x00\x05abc", b"\x00\x01a\x00"):
        with pytest.raises(ValueError):
            tiles.parse_bundle(bad)


def test_tile_bytes_and_widths() -> None:
    hashes = fake_hashes(3)
    assert tiles.hashes_of(tiles.tile_bytes(hashes), 3) == hashes
    with pytest.raises(ValueError):
        tiles.hashes_of(tiles.tile_bytes(hashes), 2)
    with pytest.raises(ValueError):
        tiles.tile_bytes([])
    with pytest.raises(ValueError):
        tiles.tile_bytes([b"short"])


# ---- proofs from tiles alone -------------------------------------------------------------------

SIZES = st.one_of(st.sampled_from([1, 2, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537]),
                  st.integers(1, 65_837))
BIG = 65_537 + 300  # one tree, every size up to it is a prefix of it


@pytest.fixture(scope="module")
def big() -> merkle.MemoryTree:
    return tree_of(BIG)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=SIZES)
def test_proofs_from_tiles_equal_the_merkle_proofs(big: merkle.MemoryTree, data: st.DataObject,
                                                   size: int) -> None:
    files = files_of(big, size)
    fetch = tiles.tile_fetch(size, reader(files))
    root = merkle.root(size, fetch)
    assert root == big.root(size)
    index = data.draw(st.integers(0, size - 1), label="leaf")
    path = merkle.inclusion_path(index, size, fetch)
    assert path == big.inclusion_path(index, size)
    assert merkle.verify_inclusion(big.leaves[index], index, size, path, root)
    first = data.draw(st.integers(1, size), label="first")
    proof = merkle.consistency_proof(first, size, fetch)
    assert proof == big.consistency_proof(first, size)
    assert merkle.verify_consistency(first, size, big.root(first), root, proof)


def test_the_empty_tree_has_no_tiles_and_the_empty_root() -> None:
    assert merkle.root(0, tiles.tile_fetch(0, reader({}))) == merkle.EMPTY_ROOT


def test_a_proof_reads_only_the_tiles_of_its_tree_size(big: merkle.MemoryTree) -> None:
    size = 65_537
    files = files_of(big, size)
    log: list[Tile] = []
    fetch = tiles.tile_fetch(size, reader(files, log))
    # Leaf 65536's only sibling is the subtree of the first 65536 leaves: the level-2 tile.
    assert merkle.inclusion_path(65_536, size, fetch) == [big.nodes[(16, 0)]]
    assert log == [Tile(2, 0, 1)]
    log.clear()
    merkle.inclusion_path(70, size, fetch)
    assert set(log) <= set(files) and Tile(2, 0, 1) not in log
    assert len(log) == len(set(log))  # each tile read once per fetch


def test_a_node_beyond_the_tree_or_a_short_tile_is_refused(big: merkle.MemoryTree) -> None:
    files = files_of(big, 300)
    with pytest.raises(LookupError):
        tiles.tile_fetch(300, reader(files))([(0, 300)])
    with pytest.raises(LookupError):
        tiles.tile_fetch(300, reader(files))([(8, 1)])  # leaves 256 … 511: not all in the tree
    short = dict(files)
    short[Tile(0, 1, 44)] = short[Tile(0, 1, 44)][:-32]
    with pytest.raises(ValueError):
        tiles.tile_fetch(300, reader(short))([(0, 299)])


@settings(max_examples=40, deadline=None)
@given(old=st.integers(0, 3000), grow=st.integers(0, 3000))
def test_growing_the_tree_keeps_full_tiles_and_adds_paths(old: int, grow: int) -> None:
    tree = tree_of(6000)
    before, after = files_of(tree, old), files_of(tree, old + grow)
    for tile, data in before.items():
        if tile.full:
            assert after[tile] == data  # a full tile never changes
    # A path of the old tree that the new one also has holds the same bytes: never rewritten.
    for tile in set(before) & set(after):
        assert before[tile] == after[tile]
