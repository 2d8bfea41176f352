"""The Merkle tree over the log: RFC 9162 §2.1 (Certificate Transparency 2.0; RFC 6962 hashing). Pure, no IO.

Hashing. ``leaf_hash(d) = SHA-256(0x00 ‖ d)``, ``node_hash(l, r) = SHA-256(0x01 ‖ l ‖ r)``, the
Merkle Tree Hash of the empty list is ``SHA-256(b"")``, and for n > 1 inputs
``MTH(D[0:n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))`` with k the largest power of two smaller
than n.

Storage model. The tree is read as *perfect* subtrees: node ``(level, index)`` is the MTH of
the leaves ``[index·2^level, (index+1)·2^level)``; ``(0, i)`` is the leaf hash of leaf i.
Appending leaf n creates ``(0, n)`` and then, while the new node's index is odd, its parent
(:func:`nodes_after_append`). A store may keep only some of them and compute the others (the
projection keeps every fourth level: domain/tiles.py, ``fetch_below``). Every range ``[a, b)``
that the RFC recursions (MTH, PATH, SUBPROOF) ever look at starts at a multiple of the smallest
power of two ≥ ``b - a``, so its MTH is the fold, from the right, of the O(log n) perfect nodes
of the binary decomposition of the range (:func:`range_keys`, :func:`fold`). Reads therefore
first list the keys they need (:func:`root_keys`, :func:`inclusion_keys`,
:func:`consistency_keys`) and fetch them all in ONE call of a :data:`Fetch` callable.

Limits: tree sizes 0 … 2^40, leaf indexes 0 … 2^40 − 1. The builders (``root``,
``inclusion_path``, ``consistency_proof``, ``nodes_after_append``, ``range_keys``) raise
``ValueError`` on out-of-range arguments. The verifiers take untrusted input and never raise on
it: they return ``False``.

Consistency proofs are defined (RFC 9162 §2.1.4.1) for ``0 < first < second``; we also give the
empty proof for ``first == second`` (verified by comparing the two roots). ``first == 0`` is
refused with ``ValueError`` by :func:`consistency_proof` and :func:`verify_consistency` returns
``False`` for it: the empty tree is a prefix of every tree, there is nothing to prove.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "Fetch",
    "Frontier",
    "Key",
    "MemoryTree",
    "append_sibling_keys",
    "canonical_json",
    "consistency_keys",
    "consistency_proof",
    "fold",
    "inclusion_keys",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "nodes_after_append",
    "perfect_root",
    "range_keys",
    "root",
    "root_keys",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
MAX_TREE_SIZE = 1 << 40
EMPTY_ROOT = hashlib.sha256(b"").digest()

Key = tuple[int, int]
"""A perfect node: ``(level, index)``, the MTH of leaves ``[index·2^level, (index+1)·2^level)``."""

Fetch = Callable[[list[Key]], Mapping[Key, bytes]]
"""Given a list of perfect-node keys, return their hashes (a mapping holding at least those keys)."""

Range = tuple[int, int]


# ---------------------------------------------------------------------------------------------
# Leaf encoding and hashing


# One encoder for every call: json.dumps with these options would build a new one each time.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(obj: object) -> bytes:
    """The project's canonical JSON (DESIGN §5): sorted keys, no white space, UTF-8, non-ASCII kept."""
    return _CANONICAL.encode(obj).encode("utf-8")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root of the perfect subtree over 2^k node (or leaf) hashes, in order."""
    if not hashes or len(hashes) & (len(hashes) - 1):
        raise ValueError(f"a perfect subtree has 2^k hashes, not {len(hashes)}")
    sha256 = hashlib.sha256
    level = list(hashes)
    while len(level) > 1:
        # node_hash inlined: a proof from tiles hashes hundreds of nodes, and the call costs
        # more than the hash.
        level = [sha256(b"\x01" + left + right).digest()
                 for left, right in zip(level[::2], level[1::2], strict=True)]
    return level[0]


# ---------------------------------------------------------------------------------------------
# Argument checks


def _check_size(name: str, value: int, low: int = 0) -> None:
    if not _is_int(value) or not low <= value <= MAX_TREE_SIZE:
        raise ValueError(f"{name} must be an integer in [{low}, 2^40], got {value!r}")


def _check_index(name: str, value: int, size: int) -> None:
    if not _is_int(value) or not 0 <= value < size:
        raise ValueError(f"{name} must be an integer in [0, {size}), got {value!r}")


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# ---------------------------------------------------------------------------------------------
# Writing: perfect nodes created by one append


def append_sibling_keys(leaf_index: int) -> list[Key]:
    """The stored nodes that :func:`nodes_after_append` will ask for (left siblings), in order."""
    _check_index("leaf_index", leaf_index, MAX_TREE_SIZE)
    keys: list[Key] = []
    level, index = 0, leaf_index
    while index & 1:
        keys.append((level, index - 1))
        level, index = level + 1, index >> 1
    return keys


def nodes_after_append(leaf_index: int, leaf_hash: bytes,
                       get: Callable[[int, int], bytes]) -> list[tuple[int, int, bytes]]:
    """The perfect nodes to store when leaf ``leaf_index`` (== the old tree size) is appended.

    Returns ``(0, leaf_index, leaf_hash)`` and then each newly completed ancestor, bottom-up;
    ``get(level, index)`` is called once per left sibling (≤ 40 times).
    """
    _check_index("leaf_index", leaf_index, MAX_TREE_SIZE)
    if len(leaf_hash) != HASH_SIZE:
        raise ValueError("leaf_hash must be 32 bytes")
    out = [(0, leaf_index, bytes(leaf_hash))]
    level, index, current = 0, leaf_index, bytes(leaf_hash)
    while index & 1:
        current = node_hash(get(level, index - 1), current)
        level, index = level + 1, index >> 1
        out.append((level, index, current))
    return out


# ---------------------------------------------------------------------------------------------
# Ranges ⇄ perfect nodes


def range_keys(start: int, end: int) -> list[Key]:
    """The perfect nodes whose right fold is MTH(D[start:end]), left to right.

    The range must be non-empty and start at a multiple of the smallest power of two ≥ its
    length (true of every range in the MTH, PATH and SUBPROOF recursions); the keys are then the
    binary decomposition of the length, largest block first.
    """
    if not (_is_int(start) and _is_int(end)) or not 0 <= start < end <= MAX_TREE_SIZE:
        raise ValueError(f"bad range [{start!r}, {end!r})")
    size = end - start
    if start % (1 << (size - 1).bit_length()):
        raise ValueError(f"range [{start}, {end}) is not aligned")
    keys: list[Key] = []
    pos = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, pos >> level))
            pos += 1 << level
    return keys


def fold(keys: Sequence[Key], nodes: Mapping[Key, bytes]) -> bytes:
    """Combine perfect nodes from the right, as the MTH recursion does: h1·(h2·(…·hk))."""
    if not keys:
        raise ValueError("nothing to fold")
    try:
        acc = nodes[keys[-1]]
        for key in reversed(keys[:-1]):
            acc = node_hash(nodes[key], acc)
    except KeyError as e:
        raise LookupError(f"merkle node {e.args[0]} was not fetched") from None
    return acc


def _keys_for(ranges: Iterable[Range]) -> list[Key]:
    seen: dict[Key, None] = {}
    for start, end in ranges:
        for key in range_keys(start, end):
            seen[key] = None
    return list(seen)


def _resolve(ranges: list[Range], fetch: Fetch) -> list[bytes]:
    if not ranges:
        return []
    keys = _keys_for(ranges)
    nodes = fetch(keys)
    return [fold(range_keys(start, end), nodes) for start, end in ranges]


def _path_ranges(leaf_index: int, tree_size: int) -> list[Range]:
    """PATH(m, D[0:n]) (RFC 9162 §2.1.3.1) as the ranges whose MTHs it lists, in proof order."""
    ranges: list[Range] = []
    a, b = 0, tree_size
    while b - a > 1:
        k = _split(b - a)
        if leaf_index < a + k:
            ranges.append((a + k, b))
            b = a + k
        else:
            ranges.append((a, a + k))
            a = a + k
    ranges.reverse()  # PATH appends the sibling after the deeper sub-path
    return ranges


def _proof_ranges(first: int, second: int) -> list[Range]:
    """PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) (RFC 9162 §2.1.4.1) as ranges, in proof order."""
    ranges: list[Range] = []
    a, b, whole = 0, second, True
    while True:
        if b == first:  # m equals the size of D[a:b]
            if not whole:
                ranges.append((a, b))
            break
        k = _split(b - a)
        if first - a <= k:
            ranges.append((a + k, b))
            b = a + k
        else:
            ranges.append((a, a + k))
            a, whole = a + k, False
    ranges.reverse()
    return ranges


# ---------------------------------------------------------------------------------------------
# Reading: which nodes, then one fetch


def root_keys(tree_size: int) -> list[Key]:
    """The perfect nodes :func:`root` fetches (popcount(tree_size) of them)."""
    _check_size("tree_size", tree_size)
    return range_keys(0, tree_size) if tree_size else []


def inclusion_keys(leaf_index: int, tree_size: int) -> list[Key]:
    """The perfect nodes :func:`inclusion_path` fetches."""
    _check_size("tree_size", tree_size, low=1)
    _check_index("leaf_index", leaf_index, tree_size)
    return _keys_for(_path_ranges(leaf_index, tree_size))


def consistency_keys(first: int, second: int) -> list[Key]:
    """The perfect nodes :func:`consistency_proof` fetches."""
    _check_consistency_args(first, second)
    return [] if first == second else _keys_for(_proof_ranges(first, second))


def root(tree_size: int, fetch: Fetch) -> bytes:
    """MTH(D[0:tree_size]); SHA-256(b"") for the empty tree (no fetch then)."""
    _check_size("tree_size", tree_size)
    if tree_size == 0:
        return EMPTY_ROOT
    return _resolve([(0, tree_size)], fetch)[0]


def inclusion_path(leaf_index: int, tree_size: int, fetch: Fetch) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(leaf_index, D[0:tree_size]), deepest sibling first."""
    _check_size("tree_size", tree_size, low=1)
    _check_index("leaf_index", leaf_index, tree_size)
    return _resolve(_path_ranges(leaf_index, tree_size), fetch)


def _check_consistency_args(first: int, second: int) -> None:
    _check_size("second", second)
    _check_size("first", first, low=1)
    if first > second:
        raise ValueError(f"first ({first}) must not exceed second ({second})")


def consistency_proof(first: int, second: int, fetch: Fetch) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[0:second]); empty when first == second; first ≥ 1."""
    _check_consistency_args(first, second)
    if first == second:
        return []
    return _resolve(_proof_ranges(first, second), fetch)


# ---------------------------------------------------------------------------------------------
# Verifying (RFC 9162 §2.1.3.2 and §2.1.4.2)


def _hashes_ok(*hashes: object) -> bool:
    return all(isinstance(h, bytes | bytearray) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(leaf_hash: bytes, leaf_index: int, tree_size: int, path: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove leaf ``leaf_index`` with ``leaf_hash`` under ``root``?"""
    if not (_is_int(leaf_index) and _is_int(tree_size)):
        return False
    if not 0 <= leaf_index < tree_size <= MAX_TREE_SIZE:
        return False
    if not _hashes_ok(leaf_hash, root, *path):
        return False
    fn, sn, r = leaf_index, tree_size - 1, bytes(leaf_hash)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (first, first_root) a prefix of (second, second_root)?

    ``first == second`` needs the empty proof and equal roots; ``first == 0`` is not verified
    (returns False): no proof is ever issued for it.
    """
    if not (_is_int(first) and _is_int(second)):
        return False
    if not 0 < first <= second <= MAX_TREE_SIZE:
        return False
    if not _hashes_ok(first_root, second_root, *proof):
        return False
    if first == second:
        return len(proof) == 0 and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, bytes(first_root))
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# ---------------------------------------------------------------------------------------------
# In-memory reference tree


class MemoryTree:
    """A whole tree in memory, built with :func:`nodes_after_append`: for tests and offline audits."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.leaves: list[bytes] = []
        self.nodes: dict[Key, bytes] = {}
        self.fetches = 0  # number of fetch calls served, for tests
        for h in leaf_hashes:
            self.append(h)

    @classmethod
    def from_data(cls, leaves: Iterable[bytes]) -> MemoryTree:
        return cls(leaf_hash(d) for d in leaves)

    def __len__(self) -> int:
        return len(self.leaves)

    @property
    def size(self) -> int:
        return len(self.leaves)

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def fetch(self, keys: list[Key]) -> dict[Key, bytes]:
        self.fetches += 1
        return {key: self.nodes[key] for key in keys}

    def append(self, leaf_hash: bytes) -> int:
        index = len(self.leaves)
        for level, idx, h in nodes_after_append(index, leaf_hash, self.get):
            self.nodes[(level, idx)] = h
        self.leaves.append(bytes(leaf_hash))
        return index

    def _size(self, tree_size: int | None) -> int:
        n = len(self.leaves) if tree_size is None else tree_size
        if not _is_int(n) or not 0 <= n <= len(self.leaves):
            raise ValueError(f"tree_size must be in [0, {len(self.leaves)}], got {n!r}")
        return n

    def root(self, tree_size: int | None = None) -> bytes:
        return root(self._size(tree_size), self.fetch)

    def inclusion_path(self, leaf_index: int, tree_size: int | None = None) -> list[bytes]:
        return inclusion_path(leaf_index, self._size(tree_size), self.fetch)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return consistency_proof(first, self._size(second), self.fetch)


class Frontier:
    """The roots of the perfect subtrees of the leaves seen so far: O(log n) memory.

    Leaves can also come as whole perfect subtrees (:meth:`append_node`), each starting at a
    multiple of its own size: so the frontiers of consecutive aligned ranges of the log, each
    hashed on its own (by a worker process), combine into the frontier of their union."""

    def __init__(self, nodes: Iterable[tuple[int, bytes]] = ()) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []  # (level, hash), highest level first
        self.extend(nodes)

    def append(self, leaf: bytes, made: list[tuple[int, int, bytes]] | None = None) -> None:
        """Append a leaf hash; with `made`, add to it each perfect node ``(level, index, hash)``
        the append completes above the leaf, bottom-up (what a store of nodes must write)."""
        level, node = 0, leaf
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            node = node_hash(left, node)
            level += 1
            if made is not None:
                made.append((level, self.size >> level, node))
        self.stack.append((level, node))
        self.size += 1

    def append_node(self, level: int, node: bytes) -> None:
        """Append the perfect subtree of 2^level leaves whose root is ``node``; the tree's size
        must be a multiple of 2^level (ValueError otherwise)."""
        if not _is_int(level) or not 0 <= level <= 40 or self.size % (1 << level):
            raise ValueError(f"a subtree of level {level!r} can't start at leaf {self.size}")
        size = self.size + (1 << level)
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            node = node_hash(left, node)
            level += 1
        self.stack.append((level, node))
        self.size = size

    def extend(self, nodes: Iterable[tuple[int, bytes]]) -> None:
        """Append these perfect subtrees, in order (another frontier's ``stack``)."""
        for level, node in nodes:
            self.append_node(level, node)

    def copy(self) -> Frontier:
        return Frontier(self.stack)

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        node = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            node = node_hash(left, node)
        return node
