"""The streaming root used by `audit verify` agrees with the stored tree at every size."""

from __future__ import annotations

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
