"""The public export over HTTP: every public leaf under the latest signed tree head, for anyone.

The format is ``minhbach-public-log/2`` (ledger/export.py, docs/verifiable-log.md §7): a header with
the signed tree head and the public key, then ``{leaf, leaf_index, position}`` per leaf (``leaf``
the base64 of the leaf bytes: public facts in clear, the rest sealed), never a stored event. It
is what ``minhbach audit export --public`` writes for the same head, byte for byte, and
``tools/verify_export.py`` checks it offline.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import StreamingResponse

from api.deps import Svc
from api.problems import Problem
from ledger.export import public_chunks, signed_head
from projections.merkle import leaf_count

router = APIRouter(tags=["public"])
NDJSON = "application/x-ndjson"
EXPORT_CACHE = "public, max-age=60"


def etag_of(head: dict[str, object]) -> str:
    """A strong ETag naming the tree head: its size and root fix every byte of the export."""
    return f'"{head["tree_size"]}-{head["root_hash"]}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison against a list of entity tags, or ``*``."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)


@router.get(
    "/public/export",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The public export (JSON Lines, minhbach-public-log/2): the signed "
                             "tree head, then one {leaf, leaf_index, position} per leaf.",
              "content": {NDJSON: {"schema": {"type": "string"}}}},
        304: {"description": "Not modified: the latest tree head is the one named in If-None-Match."},
    },
)
def public_export(
    svc: Svc,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """Download every public leaf of the log under the latest signed tree head.

    Rebuild the root from the leaves, check the head's Ed25519 signature, and find a receipt's
    leaf (from `/public/donations/{reference}`) at its index: `tools/verify_export.py FILE
    --leaf ANSWER.json`; recompute the public figures: `tools/public_figures.py FILE`.
    """
    row = svc.checkpoints.published()
    if row is None:
        raise Problem(404, "not_found", "No tree head yet", "no signed tree head is published yet")
    head = signed_head(row)
    etag = etag_of(head)
    if svc.checkpoints.quorum:  # the header carries the cosignatures, which can still arrive
        etag = f'{etag[:-1]}-{len(svc.checkpoints.cosignatures(head))}"'
    headers = {"ETag": etag, "Cache-Control": EXPORT_CACHE}
    if if_none_match is not None and etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    with svc.db.read() as cur:
        have = leaf_count(cur)
    if have < head["tree_size"]:
        raise Problem(503, "not_yet_projected", "Merkle tree incomplete",
                      f"the Merkle projection has {have} of the head's {head['tree_size']} leaves; "
                      "try again shortly", {"Retry-After": "5"})
    headers["Content-Disposition"] = (
        f'attachment; filename="minhbach-public-{head["tree_size"]}.jsonl"')
    body = (chunk.encode("utf-8") for chunk in public_chunks(svc, head))
    return StreamingResponse(body, media_type=NDJSON, headers=headers)
