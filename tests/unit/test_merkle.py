"""The Merkle tree core (domain/merkle.py) against RFC 9162 §2.1, published vectors and itself.

- Known answers: the Certificate Transparency reference vectors (8 standard leaves, their
  perfect-node hashes, the roots of the trees of 0–8 leaves, published inclusion and
  consistency proofs) and the published lists of nodes a proof is made of.
- Properties (Hypothesis): every proof built by merkle.py verifies with an independent
  verifier written below straight from the RFC 9162 §2.1.3.2 / §2.1.4.2 text, and with
  merkle.py's own verifiers; root(n) equals a naive recursive MTH; every alteration fails.
- Cost: a root or a proof is ONE fetch of O(log n) perfect nodes, checked at n = 1,000,000.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import merkle
from domain.leaf import leaf as public_leaf
from domain.merkle import Key, MemoryTree

PROPS = settings(max_examples=300, deadline=None)


def h(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text)


# ---------------------------------------------------------------------------------------------
# Reference vectors.
#
# Leaves, perfect-node hashes and roots: google/trillian, merkle/testonly/constants.go
# (LeafInputs, NodeHashes, RootHashes, EmptyRootHash), the RFC 6962 test data also used by
# google/certificate-transparency. Inclusion and consistency proofs:
# transparency-dev/merkle, proof/verify_test.go (inclusionProofs, consistencyProofs; that file
# numbers leaves from 1, so its {leaf: 6, size: 8} is our leaf_index 5). Node lists:
# transparency-dev/merkle, proof/proof_test.go (TestInclusion, TestConsistency).

LEAVES = [h(x) for x in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]

EMPTY_ROOT = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

NODE_HASHES = [
    [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
     h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
     h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
     h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
     h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
     h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
     h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
     h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1")],
    [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
     h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
     h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
     h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")],
    [h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
     h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]

ROOTS = [  # by tree size, 0..8
    EMPTY_ROOT,
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

INCLUSION_PROOFS = [  # (leaf_index, tree_size, path)
    (0, 1, []),
    (0, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (5, 8, [h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]

CONSISTENCY_PROOFS = [  # (first, second, proof)
    (1, 1, []),
    (1, 8, [h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]

# The perfect nodes (level, index) a proof is made of, as listed in proof/proof_test.go. That
# implementation re-hashes some of them in a different order; the SET of nodes is what we share.
INCLUSION_NODES = [  # (leaf_index, tree_size, nodes)
    (0, 1, []), (0, 2, [(0, 1)]), (1, 2, [(0, 0)]), (1, 3, [(0, 0), (0, 2)]),
    (0, 7, [(0, 1), (1, 1), (0, 6), (1, 2)]), (1, 7, [(0, 0), (1, 1), (0, 6), (1, 2)]),
    (2, 7, [(0, 3), (1, 0), (0, 6), (1, 2)]), (3, 7, [(0, 2), (1, 0), (0, 6), (1, 2)]),
    (4, 7, [(0, 5), (0, 6), (2, 0)]), (5, 7, [(0, 4), (0, 6), (2, 0)]), (6, 7, [(1, 2), (2, 0)]),
    (2, 4, [(0, 3), (1, 0)]), (3, 5, [(0, 2), (1, 0), (0, 4)]), (3, 6, [(0, 2), (1, 0), (1, 2)]),
    (4, 6, [(0, 5), (2, 0)]),
    (10, 15, [(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)]),
    (24, 31, [(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)]),
    (81, 95, [(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)]),
]
CONSISTENCY_NODES = [  # (first, second, nodes)
    (1, 2, [(0, 1)]), (1, 4, [(0, 1), (1, 1)]), (1, 6, [(0, 1), (1, 1), (1, 2)]), (2, 3, [(0, 2)]),
    (2, 8, [(1, 1), (2, 1)]), (3, 7, [(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)]),
    (4, 7, [(0, 6), (1, 2)]), (5, 7, [(0, 4), (0, 5), (0, 6), (2, 0)]),
    (6, 7, [(1, 2), (0, 6), (2, 0)]), (7, 8, [(0, 6), (0, 7), (1, 2), (2, 0)]),
    (1, 1, []), (5, 5, []), (8, 8, []),
    (2, 4, [(1, 1)]), (3, 5, [(0, 2), (0, 3), (1, 0), (0, 4)]),
    (3, 6, [(0, 2), (0, 3), (1, 0), (1, 2)]), (4, 6, [(1, 2)]),
    (1, 7, [(0, 1), (1, 1), (0, 6), (1, 2)]),
    (10, 15, [(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)]),
    (24, 31, [(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)]),
    (81, 95, [(0, 80), (0, 81), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)]),
]


# ---------------------------------------------------------------------------------------------
# Independent reference code, written here from the RFC 9162 text (not from merkle.py).


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def naive_mth(hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH over already-hashed leaves, by the recursive definition."""
    n = len(hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + naive_mth(hashes[:k]) + naive_mth(hashes[k:]))


def rfc_verify_inclusion(hash_: bytes, leaf_index: int, tree_size: int,
                         inclusion_path: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    # 1. leaf_index >= tree_size fails.
    if leaf_index >= tree_size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.   3. r = hash.
    fn, sn, r = leaf_index, tree_size - 1, hash_
    # 4. For each value p in the inclusion_path array:
    for p in inclusion_path:
        if sn == 0:  # a.
            return False
        if fn % 2 == 1 or fn == sn:  # b.
            r = sha256(b"\x01" + p + r)
            if fn % 2 == 0:
                while True:
                    fn, sn = fn // 2, sn // 2
                    if fn % 2 == 1 or fn == 0:
                        break
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn // 2, sn // 2  # c.
    # 5. sn must be 0 and r must equal root_hash.
    return sn == 0 and r == root_hash


def rfc_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                           consistency_path: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 for 0 < first < second; first == second: empty proof, equal hashes."""
    if first == second:
        return len(consistency_path) == 0 and first_hash == second_hash
    if not 0 < first < second:
        return False
    path = list(consistency_path)
    if not path:  # 1.
        return False
    if first & (first - 1) == 0:  # 2. first is an exact power of 2
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1  # 3.
    while fn % 2 == 1:  # 4.
        fn, sn = fn // 2, sn // 2
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            if fn % 2 == 0:
                while True:
                    fn, sn = fn // 2, sn // 2
                    if fn % 2 == 1 or fn == 0:
                        break
        else:
            sr = sha256(b"\x01" + sr + c)
        fn, sn = fn // 2, sn // 2
    return fr == first_hash and sr == second_hash and sn == 0  # 7.


def inclusion_shape(leaf_index: int, tree_size: int, length: int) -> list[str] | None:
    """The sequence of steps the §2.1.3.2 loop takes for a path of `length`, or None if it fails
    on sizes alone. Two (index, size) pairs with the same shape verify the same path against the
    same root: the tree size is bound by the signed tree head, not by the path."""
    if not 0 <= leaf_index < tree_size:
        return None
    fn, sn, steps = leaf_index, tree_size - 1, []
    for _ in range(length):
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            steps.append("left")
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            steps.append("right")
        fn, sn = fn // 2, sn // 2
    return steps if sn == 0 else None


def consistency_shape(first: int, second: int, length: int) -> list[str] | None:
    """As `inclusion_shape`, for the §2.1.4.2 loop."""
    if not 0 < first < second or length == 0:
        return None
    power = first & (first - 1) == 0
    steps = ["prepend" if power else "no-prepend"]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    for _ in range(length + power - 1):
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            steps.append("both")
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            steps.append("second")
        fn, sn = fn // 2, sn // 2
    return steps if sn == 0 else None


def both_verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes],
                          root: bytes) -> bool:
    ours = merkle.verify_inclusion(leaf, index, size, path, root)
    ref = rfc_verify_inclusion(leaf, index, size, path, root)
    assert ours == ref, (index, size, len(path))
    return ours


def both_verify_consistency(first: int, second: int, r1: bytes, r2: bytes,
                            proof: Sequence[bytes]) -> bool:
    ours = merkle.verify_consistency(first, second, r1, r2, proof)
    ref = rfc_verify_consistency(first, second, r1, r2, proof)
    assert ours == ref, (first, second, len(proof))
    return ours


def flip(data: bytes, at: int) -> bytes:
    at %= len(data)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


# ---------------------------------------------------------------------------------------------
# Known answers


@pytest.fixture(scope="module")
def ct_tree() -> MemoryTree:
    return MemoryTree.from_data(LEAVES)


def test_empty_tree_hash() -> None:
    assert merkle.EMPTY_ROOT == EMPTY_ROOT
    assert merkle.root(0, lambda keys: pytest.fail("no fetch for the empty tree")) == EMPTY_ROOT
    assert MemoryTree().root() == EMPTY_ROOT


def test_perfect_nodes_match_the_published_node_hashes(ct_tree: MemoryTree) -> None:
    expected = {(level, i): v for level, row in enumerate(NODE_HASHES) for i, v in enumerate(row)}
    assert ct_tree.nodes == expected


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_published_roots(ct_tree: MemoryTree, size: int) -> None:
    assert ct_tree.root(size) == ROOTS[size]
    assert naive_mth([merkle.leaf_hash(d) for d in LEAVES[:size]]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_published_inclusion_proofs(ct_tree: MemoryTree, index: int, size: int,
                                    path: list[bytes]) -> None:
    assert ct_tree.inclusion_path(index, size) == path
    leaf = merkle.leaf_hash(LEAVES[index])
    assert both_verify_inclusion(leaf, index, size, path, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_PROOFS)
def test_published_consistency_proofs(ct_tree: MemoryTree, first: int, second: int,
                                      proof: list[bytes]) -> None:
    assert ct_tree.consistency_proof(first, second) == proof
    assert both_verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)


@pytest.mark.parametrize(("index", "size", "nodes"), INCLUSION_NODES)
def test_inclusion_asks_for_the_published_nodes(index: int, size: int, nodes: list[Key]) -> None:
    keys = merkle.inclusion_keys(index, size)
    assert len(keys) == len(set(keys))
    assert set(keys) == set(nodes)


@pytest.mark.parametrize(("first", "second", "nodes"), CONSISTENCY_NODES)
def test_consistency_asks_for_the_published_nodes(first: int, second: int,
                                                  nodes: list[Key]) -> None:
    keys = merkle.consistency_keys(first, second)
    assert len(keys) == len(set(keys))
    assert set(keys) == set(nodes)


# ---------------------------------------------------------------------------------------------
# Leaf encoding

EXAMPLE_ID = UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")


def test_leaves_refuse_what_is_not_an_event() -> None:
    # The leaf encoding itself (and the docs' worked example) is tested in test_public_leaf.
    with pytest.raises(ValueError):
        public_leaf(True, EXAMPLE_ID, 1, "t", b"")
    with pytest.raises(ValueError):
        public_leaf(1, EXAMPLE_ID, 1.0, "t", b"")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        public_leaf(1, "not-a-uuid", 1, "t", b"")
    with pytest.raises(ValueError):
        public_leaf(1, 5, 1, "t", b"")  # type: ignore[arg-type]
    # Text ids (the store's type is UUID | str) are normalised to the same canonical form.
    upper = public_leaf(1, str(EXAMPLE_ID).upper(), 1, "t", b"")
    assert upper == public_leaf(1, EXAMPLE_ID, 1, "t", b"")


def test_canonical_json() -> None:
    assert merkle.canonical_json({"tree_size": 3, "root_hash": "ab", "timestamp": 1}) == \
        b'{"root_hash":"ab","timestamp":1,"tree_size":3}'
    assert merkle.canonical_json({"b": ["é", None, True], "a": {"y": 1, "x": "\n"}}) == \
        '{"a":{"x":"\\n","y":1},"b":["é",null,true]}'.encode()


def test_hash_prefixes() -> None:
    assert merkle.leaf_hash(b"abc") == sha256(b"\x00abc")
    assert merkle.node_hash(b"l" * 32, b"r" * 32) == sha256(b"\x01" + b"l" * 32 + b"r" * 32)


# ---------------------------------------------------------------------------------------------
# Building: perfect nodes


def test_every_perfect_node_is_the_mth_of_its_leaves() -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
    tree = MemoryTree()
    for n, leaf in enumerate(hashes):
        asked: list[Key] = []

        def get(level: int, index: int, asked: list[Key] = asked) -> bytes:
            asked.append((level, index))
            return tree.nodes[(level, index)]

        made = merkle.nodes_after_append(n, leaf, get)
        assert asked == merkle.append_sibling_keys(n)
        assert len(made) == len(asked) + 1
        for level, index, value in made:
            tree.nodes[(level, index)] = value
        tree.leaves.append(leaf)
    expected = {
        (level, i): naive_mth(hashes[i << level:(i + 1) << level])
        for level in range(7) for i in range(len(hashes) >> level)
    }
    assert tree.nodes == expected
    assert tree.nodes == MemoryTree(hashes).nodes


def test_a_frontier_says_the_perfect_nodes_each_append_completes() -> None:
    hashes = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(300)]
    tree = MemoryTree(hashes)
    frontier = merkle.Frontier()
    for n, leaf in enumerate(hashes):
        made: list[tuple[int, int, bytes]] = []
        frontier.append(leaf, made)
        assert made == merkle.nodes_after_append(n, leaf, lambda level, i: tree.nodes[(level, i)])[1:]
    assert frontier.root() == tree.root()


def test_range_keys_and_fold() -> None:
    assert merkle.range_keys(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert merkle.range_keys(8, 12) == [(2, 2)]
    assert merkle.range_keys(16, 27) == [(3, 2), (1, 12), (0, 26)]
    for bad in ((2, 5), (1, 3), (4, 4), (-1, 0), (0, 2**40 + 1)):
        with pytest.raises(ValueError):
            merkle.range_keys(*bad)
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(27)]
    tree = MemoryTree(hashes)
    for a, b in ((0, 27), (16, 27), (24, 27), (0, 1), (26, 27), (16, 24)):
        assert merkle.fold(merkle.range_keys(a, b), tree.nodes) == naive_mth(hashes[a:b])
    with pytest.raises(LookupError):
        merkle.fold([(5, 0)], tree.nodes)


# ---------------------------------------------------------------------------------------------
# Properties


@st.composite
def trees(draw: st.DrawFn, max_leaves: int = 300) -> tuple[MemoryTree, list[bytes]]:
    """A tree of distinct random leaves (distinct, so that a wrong index cannot verify by chance)."""
    n = draw(st.integers(1, max_leaves))
    salt = draw(st.binary(max_size=16))
    data = [salt + i.to_bytes(2, "big") for i in range(n)]
    return MemoryTree.from_data(data), data


@PROPS
@given(trees(), st.lists(st.integers(0, 10**6), min_size=1, max_size=4))
def test_root_is_the_naive_mth(tree_data: tuple[MemoryTree, list[bytes]], picks: list[int]) -> None:
    tree, data = tree_data
    for pick in [*picks, len(tree)]:
        size = pick % (len(tree) + 1)
        assert tree.root(size) == naive_mth([merkle.leaf_hash(d) for d in data[:size]])


def check_inclusion_and_alterations(tree: MemoryTree, index: int, size: int,
                                    rnd: random.Random) -> None:
    verify = both_verify_inclusion
    leaf = tree.leaves[index]
    root = tree.root(size)
    path = tree.inclusion_path(index, size)
    assert verify(leaf, index, size, path, root)
    junk = rnd.randbytes(32)
    # Altered proof: a byte flipped in any element, an element dropped or added.
    for k in range(len(path)):
        altered = list(path)
        altered[k] = flip(path[k], rnd.randrange(32))
        assert not verify(leaf, index, size, altered, root)
        assert not verify(leaf, index, size, path[:k] + path[k + 1:], root)
    for k in range(len(path) + 1):
        for extra in (junk, root, leaf):
            assert not verify(leaf, index, size, [*path[:k], extra, *path[k:]], root)
    # Altered leaf or root.
    assert not verify(flip(leaf, rnd.randrange(32)), index, size, path, root)
    assert not verify(leaf, index, size, path, flip(root, rnd.randrange(32)))
    other = rnd.randrange(len(tree))
    if other != index:
        assert not verify(tree.leaves[other], index, size, path, root)
    # Wrong index: never verifies (distinct leaves). Indexes are unsigned in the RFC.
    for wrong in {index - 1, index + 1, index ^ 1, index ^ 2, rnd.randrange(size), size}:
        if wrong != index and wrong >= 0:
            assert not verify(leaf, wrong, size, path, root)
    # Wrong size: verifies exactly when the RFC loop takes the same steps for it (the root
    # then still commits to the true size: that is the signed tree head's job).
    for wrong in {size - 1, size + 1, size * 2, size // 2, rnd.randrange(1, 2 * size + 2), 0}:
        if wrong != size:
            same = inclusion_shape(index, wrong, len(path)) == inclusion_shape(index, size, len(path))
            assert verify(leaf, index, wrong, path, root) == same


def check_consistency_and_alterations(tree: MemoryTree, first: int, second: int,
                                      rnd: random.Random) -> None:
    r1, r2 = tree.root(first), tree.root(second)
    proof = tree.consistency_proof(first, second)
    assert both_verify_consistency(first, second, r1, r2, proof)
    junk = rnd.randbytes(32)
    for k in range(len(proof)):
        altered = list(proof)
        altered[k] = flip(proof[k], rnd.randrange(32))
        assert not both_verify_consistency(first, second, r1, r2, altered)
        assert not both_verify_consistency(first, second, r1, r2, proof[:k] + proof[k + 1:])
    for k in range(len(proof) + 1):
        for extra in (junk, r1, r2):
            assert not both_verify_consistency(first, second, r1, r2, [*proof[:k], extra, *proof[k:]])
    assert not both_verify_consistency(first, second, flip(r1, rnd.randrange(32)), r2, proof)
    assert not both_verify_consistency(first, second, r1, flip(r2, rnd.randrange(32)), proof)
    if first != second:
        assert not both_verify_consistency(first, second, r2, r1, proof)
        assert not both_verify_consistency(first, second, r1, r2, [])
    for wrong in {first - 1, first + 1, first ^ 1, first ^ 2, rnd.randrange(second + 2), 0}:
        if wrong != first:
            same = (consistency_shape(wrong, second, len(proof))
                    == consistency_shape(first, second, len(proof)))
            assert both_verify_consistency(wrong, second, r1, r2, proof) == (same and bool(proof))
    for wrong in {second - 1, second + 1, second * 2, second // 2, rnd.randrange(2 * second + 2)}:
        if wrong != second:
            same = (consistency_shape(first, wrong, len(proof))
                    == consistency_shape(first, second, len(proof)))
            assert both_verify_consistency(first, wrong, r1, r2, proof) == (same and bool(proof))


@PROPS
@given(trees(), st.integers(0, 2**32), st.randoms(use_true_random=False))
def test_inclusion_proofs_verify_and_alterations_fail(tree_data: tuple[MemoryTree, list[bytes]],
                                                      pick: int, rnd: random.Random) -> None:
    tree, _ = tree_data
    size = 1 + pick % len(tree)
    index = (pick // len(tree)) % size
    check_inclusion_and_alterations(tree, index, size, rnd)
    check_inclusion_and_alterations(tree, size - 1, size, rnd)


@PROPS
@given(trees(), st.integers(0, 2**32), st.randoms(use_true_random=False))
def test_consistency_proofs_verify_and_alterations_fail(tree_data: tuple[MemoryTree, list[bytes]],
                                                        pick: int, rnd: random.Random) -> None:
    tree, _ = tree_data
    second = 1 + pick % len(tree)
    first = 1 + (pick // len(tree)) % second
    check_consistency_and_alterations(tree, first, second, rnd)
    check_consistency_and_alterations(tree, first, len(tree), rnd)


def test_all_small_trees_exhaustively() -> None:
    rnd = random.Random(9162)
    tree = MemoryTree.from_data([b"leaf %d" % i for i in range(33)])
    for size in range(1, 34):
        for index in range(size):
            check_inclusion_and_alterations(tree, index, size, rnd)
        for first in range(1, size + 1):
            check_consistency_and_alterations(tree, first, size, rnd)


def test_same_shape_really_means_a_forged_size_verifies() -> None:
    """Why the wrong-size rule above is not vacuous: the RFC verifier cannot tell size 3 from 4."""
    tree = MemoryTree.from_data(LEAVES)
    path = tree.inclusion_path(0, 3)
    assert both_verify_inclusion(tree.leaves[0], 0, 4, path, ROOTS[3])
    assert both_verify_consistency(2, 4, ROOTS[2], ROOTS[3], tree.consistency_proof(2, 3))


def test_verifiers_refuse_nonsense_without_raising() -> None:
    leaf = merkle.leaf_hash(b"x")
    assert merkle.verify_inclusion(leaf, 0, 1, [], leaf)
    for index, size in ((0, 0), (1, 1), (-1, 1), (0, 2**40 + 1), (True, 2)):
        assert not merkle.verify_inclusion(leaf, index, size, [], leaf)
    assert not merkle.verify_inclusion(leaf[:31], 0, 1, [], leaf[:31])
    assert not merkle.verify_inclusion(leaf, 0, 2, [b""], leaf)
    assert merkle.verify_consistency(3, 3, leaf, leaf, [])
    assert not merkle.verify_consistency(3, 3, leaf, leaf, [leaf])
    assert not merkle.verify_consistency(3, 3, leaf, EMPTY_ROOT, [])
    assert not merkle.verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not merkle.verify_consistency(0, 1, EMPTY_ROOT, leaf, [])
    assert not merkle.verify_consistency(2, 1, leaf, leaf, [leaf])
    assert not merkle.verify_consistency(1, 2, leaf, leaf, [])


def test_builders_refuse_out_of_range_arguments() -> None:
    tree = MemoryTree.from_data(LEAVES)
    fetch = tree.fetch
    for call in (
        lambda: merkle.root(-1, fetch),
        lambda: merkle.root(2**40 + 1, fetch),
        lambda: merkle.inclusion_path(0, 0, fetch),
        lambda: merkle.inclusion_path(8, 8, fetch),
        lambda: merkle.inclusion_path(-1, 8, fetch),
        lambda: merkle.inclusion_path(0, 2**40 + 1, fetch),
        lambda: merkle.consistency_proof(0, 8, fetch),
        lambda: merkle.consistency_proof(0, 0, fetch),
        lambda: merkle.consistency_proof(5, 4, fetch),
        lambda: merkle.consistency_proof(1, 2**40 + 1, fetch),
        lambda: merkle.nodes_after_append(-1, EMPTY_ROOT, tree.get),
        lambda: merkle.nodes_after_append(2**40, EMPTY_ROOT, tree.get),
        lambda: merkle.nodes_after_append(8, b"short", tree.get),
        lambda: tree.root(9),
        lambda: tree.inclusion_path(0, 9),
    ):
        with pytest.raises(ValueError):
            call()
    assert merkle.consistency_proof(8, 8, lambda keys: pytest.fail("no fetch")) == []


# ---------------------------------------------------------------------------------------------
# Cost: one fetch, O(log n) keys


def test_one_fetch_per_read_on_a_memory_tree() -> None:
    tree = MemoryTree.from_data([b"%d" % i for i in range(1000)])
    for size in (1, 2, 3, 511, 512, 513, 999, 1000):
        bound = 2 * max(1, math.ceil(math.log2(size)))
        before = tree.fetches
        tree.root(size)
        assert tree.fetches == before + 1
        for index in (0, size // 3, size - 1):
            before = tree.fetches
            tree.inclusion_path(index, size)
            assert tree.fetches == before + (size > 1)  # a one-leaf tree's path is empty
            assert len(merkle.inclusion_keys(index, size)) <= bound
        for first in (1, size // 2 or 1, size - 1 or 1):
            before = tree.fetches
            tree.consistency_proof(first, size)
            assert tree.fetches == before + (first != size)
            assert len(merkle.consistency_keys(first, size)) <= bound


class UniformTree:
    """A virtual tree of n identical leaves: perfect node (L, i) is u[L], so any size is cheap.

    Its fetch checks that only nodes that EXIST in a tree of n leaves are asked for, and counts.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.u = [merkle.leaf_hash(b"same")]
        for _ in range(41):
            self.u.append(merkle.node_hash(self.u[-1], self.u[-1]))
        self.calls: list[list[Key]] = []
        self.mth_cache: dict[int, bytes] = {}

    def fetch(self, keys: list[Key]) -> dict[Key, bytes]:
        self.calls.append(list(keys))
        for level, index in keys:
            assert (index + 1) << level <= self.n, f"node ({level}, {index}) is not in the tree"
        return {(level, index): self.u[level] for level, index in keys}

    def mth(self, size: int) -> bytes:
        """Naive MTH recursion, memoised on size (all leaves are equal)."""
        if size not in self.mth_cache:
            if size & (size - 1) == 0:
                self.mth_cache[size] = self.u[size.bit_length() - 1]
            else:
                k = 1 << ((size - 1).bit_length() - 1)
                self.mth_cache[size] = merkle.node_hash(self.mth(k), self.mth(size - k))
        return self.mth_cache[size]


def test_reads_at_a_million_leaves_fetch_once_and_few_keys() -> None:
    n = 1_000_000
    log_n = math.ceil(math.log2(n))
    root_bound, proof_bound = 2 * log_n + 2, (log_n + 1) ** 2
    tree = UniformTree(n)
    rnd = random.Random(6962)

    assert merkle.root(n, tree.fetch) == tree.mth(n)
    assert len(tree.calls) == 1 and len(tree.calls[0]) <= root_bound
    assert len(tree.calls[0]) == bin(n).count("1")

    for index in [0, 1, n // 2, 524_287, 524_288, n - 2, n - 1, *rnd.sample(range(n), 40)]:
        tree.calls.clear()
        path = merkle.inclusion_path(index, n, tree.fetch)
        assert len(tree.calls) == 1
        assert len(tree.calls[0]) <= min(proof_bound, 2 * log_n)
        assert both_verify_inclusion(tree.u[0], index, n, path, tree.mth(n))

    for first in [1, 2, 3, 524_287, 524_288, 524_289, n - 1, *rnd.sample(range(1, n), 40)]:
        tree.calls.clear()
        proof = merkle.consistency_proof(first, n, tree.fetch)
        assert len(tree.calls) == 1
        assert len(tree.calls[0]) <= min(proof_bound, 2 * log_n)
        assert both_verify_consistency(first, n, tree.mth(first), tree.mth(n), proof)


def test_sizes_up_to_two_to_the_forty() -> None:
    top = 2**40
    tree = UniformTree(top)
    assert merkle.root_keys(top) == [(40, 0)]
    assert merkle.root(top, tree.fetch) == tree.u[40]
    for index in (0, top // 3, top - 1):
        path = merkle.inclusion_path(index, top, tree.fetch)
        assert len(path) == 40
        assert both_verify_inclusion(tree.u[0], index, top, path, tree.u[40])
    proof = merkle.consistency_proof(top - 1, top, tree.fetch)
    assert both_verify_consistency(top - 1, top, tree.mth(top - 1), tree.u[40], proof)
    made = merkle.nodes_after_append(top - 1, tree.u[0], lambda level, index: tree.u[level])
    assert [(level, index) for level, index, _ in made] == [(k, (top - 1) >> k) for k in range(41)]
    assert made[-1][2] == tree.u[40]


def test_memory_tree_prefix_views_agree_with_fresh_trees() -> None:
    data = [b"e%d" % i for i in range(20)]
    big = MemoryTree.from_data(data)
    for size in range(21):
        small = MemoryTree.from_data(data[:size])
        assert big.root(size) == small.root()
        for index in range(size):
            assert big.inclusion_path(index, size) == small.inclusion_path(index)
        for first in range(1, size + 1):
            assert big.consistency_proof(first, size) == small.consistency_proof(first)


@given(st.integers(1, 2**40), st.integers(0, 2**40))
@settings(max_examples=200, deadline=None)
def test_keys_are_few_and_aligned_at_any_size(size: int, pick: int) -> None:
    index = pick % size
    bound = 2 * max(1, math.ceil(math.log2(size)))
    keys = merkle.inclusion_keys(index, size)
    assert len(keys) <= bound
    assert all((i + 1) << level <= size for level, i in keys)
    first = 1 + pick % size
    keys = merkle.consistency_keys(first, size)
    assert len(keys) <= bound
    assert all((i + 1) << level <= size for level, i in keys)
    assert len(merkle.root_keys(size)) == bin(size).count("1")


def test_the_snippets_in_the_docs_agree_with_merkle_py() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "verifiable-log.md").read_text("utf-8")
    namespace: dict[str, object] = {}
    for block in re.findall(r"```python\n(.*?)```", doc, re.S):
        exec(block, namespace)  # the docs' own assert runs here too
    leaf_bytes: Callable[..., bytes] = namespace["leaf_bytes"]  # type: ignore[assignment]
    mth: Callable[[list[bytes]], bytes] = namespace["mth"]  # type: ignore[assignment]
    inclusion: Callable[..., bool] = namespace["verify_inclusion"]  # type: ignore[assignment]
    consistency: Callable[..., bool] = namespace["verify_consistency"]  # type: ignore[assignment]
    assert leaf_bytes(42, str(EXAMPLE_ID).upper(), 1, "t", b"\x00", None) == \
        public_leaf(42, EXAMPLE_ID, 1, "t", b"\x00")[0]
    state = b'{"received_on":"2021-01-02","amount_vnd":5}'
    ours, facts, _ = public_leaf(42, EXAMPLE_ID, 1, "m:Receipt.Recorded", state)
    assert leaf_bytes(42, str(EXAMPLE_ID), 1, "m:Receipt.Recorded", state, facts) == ours
    tree = MemoryTree.from_data([b"%d" % i for i in range(45)])
    for size in range(46):
        assert mth(tree.leaves[:size]) == tree.root(size)
        for index in range(size):
            assert inclusion(tree.leaves[index], index, size, tree.inclusion_path(index, size),
                             tree.root(size))
        for first in range(1, size + 1):
            assert consistency(first, size, tree.root(first), tree.root(size),
                               tree.consistency_proof(first, size))


@settings(max_examples=50, deadline=None)
@given(level=st.integers(0, 8), index=st.integers(0, 3), data=st.data())
def test_perfect_root_is_the_perfect_node_over_its_hashes(level: int, index: int,
                                                         data: st.DataObject) -> None:
    tree = MemoryTree.from_data([b"%d" % i for i in range(4 << 8)])
    # Over leaves, or over the nodes of a level below: the same node.
    below = data.draw(st.integers(0, level), label="below")
    span = 1 << (level - below)
    hashes = [tree.nodes[(below, index * span + i)] for i in range(span)]
    assert merkle.perfect_root(hashes) == tree.nodes[(level, index)]
    for wrong in (0, 3, span + 1 if span > 1 else 3):
        with pytest.raises(ValueError):
            merkle.perfect_root(hashes[:1] * wrong)
