"""The streaming root used by `audit verify` agrees with the stored tree at every size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import merkle


@given(st.lists(st.binary(max_size=40), max_size=120))
def test_frontier_root_equals_the_tree_root_at_every_size(leaves: list[bytes]) -> None:
    tree = merkle.MemoryTree()
    frontier = merkle.Frontier()
    assert frontier.root() == merkle.root(0, tree.fetch)
    for data in leaves:
        leaf = merkle.leaf_hash(data)
        tree.append(leaf)
        frontier.append(leaf)
        assert frontier.size == tree.size
        assert frontier.root() == merkle.root(tree.size, tree.fetch)


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@given(st.integers(0, 300), st.integers(0, 5), st.data())
def test_frontiers_of_aligned_ranges_combine_into_the_whole_trees(
        n: int, level: int, data: st.DataObject) -> None:
    # As audit verify's workers do: each range of 2^level leaves hashed into a frontier of its
    # own, the main process appending their subtrees in order; the roots at sizes inside a range
    # come from the frontier so far plus that range's frontier at that size.
    leaves, chunk = _leaves(n), 1 << level
    tree = merkle.MemoryTree(leaves)
    sizes = set(data.draw(st.lists(st.integers(1, max(1, n)), max_size=8))) if n else set()
    combined = merkle.Frontier()
    for start in range(0, n, chunk):
        part = merkle.Frontier()
        for i, leaf in enumerate(leaves[start:start + chunk], start + 1):
            part.append(leaf)
            if i in sizes:
                at = combined.copy()
                at.extend(part.stack)
                assert at.size == i
                assert at.root() == tree.root(i)
        combined.extend(part.stack)
    assert combined.size == n
    assert combined.root() == tree.root()
    assert merkle.Frontier(combined.stack).root() == tree.root()


@given(st.integers(0, 300))
def test_a_frontier_made_of_the_stored_root_nodes_continues_the_tree(n: int) -> None:
    # Incremental verify starts from the perfect nodes of the trusted head's size.
    leaves = _leaves(n + 5)
    tree = merkle.MemoryTree(leaves)
    keys = merkle.root_keys(n)
    frontier = merkle.Frontier((level, tree.nodes[(level, index)]) for level, index in keys)
    assert frontier.size == n and frontier.root() == tree.root(n)
    for leaf in leaves[n:]:
        frontier.append(leaf)
    assert frontier.root() == tree.root()


@given(st.integers(1, 200), st.integers(1, 6))
def test_a_subtree_that_does_not_start_at_a_multiple_of_its_size_is_refused(size: int, level: int) -> None:
    frontier = merkle.Frontier()
    for leaf in _leaves(size):
        frontier.append(leaf)
    if size % (1 << level):
        with pytest.raises(ValueError):
            frontier.append_node(level, bytes(32))
    else:
        frontier.append_node(level, bytes(32))
        assert frontier.size == size + (1 << level)
