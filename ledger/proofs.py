"""What proves a public fact: a receipt's public leaf and its inclusion proof against the latest
signed tree head (DESIGN §5), for the API's JSON and the public page alike."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from domain import merkle
from domain.errors import InvalidInput, NotFound
from projections.merkle import fetcher, leaf_count, stored_leaf

if TYPE_CHECKING:
    from ledger.bootstrap import CompositionRoot


def inclusion_proof(svc: CompositionRoot, position: int, tree_size: int | None = None) -> dict[str, Any]:
    """The proof that the event at `position` is in the tree of `tree_size` (default: latest STH)."""
    if tree_size is None:
        head = svc.tree_heads.latest()
        if head is None:
            raise NotFound("no signed tree head is published yet")
        tree_size = int(head["tree_size"])
    with svc.db.read() as cur:
        leaf = cur.execute("SELECT leaf_index, leaf_hash FROM merkle_leaves WHERE position = ?",
                           (position,)).fetchone()
        if leaf is None:
            raise NotFound(f"no event at position {position} is in the Merkle tree yet")
        size = leaf_count(cur)
        index = int(leaf["leaf_index"])
        if not index < tree_size <= size:
            raise InvalidInput(f"tree_size must be above leaf index {index} and at most {size}")
        path = merkle.inclusion_path(index, tree_size, fetcher(cur))
    return {"leaf_index": index, "tree_size": tree_size, "leaf_hash": leaf["leaf_hash"],
            "audit_path": [h.hex() for h in path]}


def donation_with_proof(svc: CompositionRoot, reference: str,
                        head: dict[str, Any] | None = None, *, pinned: bool = False,
                        ) -> dict[str, Any] | None:
    """A receipt as the public sees it, where its money went, its public leaf (base64 of the
    leaf bytes: the receipt's public facts and the sealed digest of the rest, never the stored
    event) and its inclusion proof against the latest signed tree head (None while no tree head
    covers it yet). `leaf` is None until the Merkle tree has the receipt. With `pinned`, the
    proof is against `head` (None: none yet) instead of the latest signed head."""
    found = svc.queries.donation(reference)
    if found is None:
        return None
    if not pinned:
        head = svc.tree_heads.latest()
    found["tree_head"] = head
    found["inclusion_proof"] = None
    with svc.db.read() as cur:
        kept = stored_leaf(cur, int(found["position"]))
    found["leaf"] = base64.b64encode(kept["leaf"]).decode("ascii") if kept else None
    # The receipt's public facts as its leaf states them: what the page shows, and what the
    # proof proves (the other members come from the read models).
    found["facts"] = json.loads(kept["leaf"])["public"] if kept else None
    if head is not None and found["position"] <= _head_position(svc, int(head["tree_size"])):
        found["inclusion_proof"] = inclusion_proof(svc, found["position"], int(head["tree_size"]))
    found["proof"] = found["inclusion_proof"]
    return found


def _head_position(svc: CompositionRoot, tree_size: int) -> int:
    row = svc.db.query_one("SELECT position FROM merkle_leaves WHERE leaf_index = ?",
                           (tree_size - 1,))
    return int(row["position"]) if row else 0
