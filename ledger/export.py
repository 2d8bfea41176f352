"""`minhbach audit export`: the log as JSON Lines, under a signed tree head (DESIGN §5).

Two kinds of file, both UTF-8, one canonical-JSON object per line, ``\\n`` line ends, and the
same first line, the header::

    {"algorithm": "Ed25519", "format": "<format>", "public_key": "<hex, 32 bytes>",
     "tree_head": {"tree_size": n, "root_hash": "<hex>", "timestamp": ms, "signature": "<hex>"}}

followed by exactly ``tree_size`` lines, one per leaf of that head, in log order (leaf index
0, 1, 2, …):

- ``minhbach-log/2``, the **full export**, for auditors (:func:`export_log`)::

    {"leaf_index": i, "originator_id": "...", "originator_version": v, "position": p,
     "state": "<base64>", "topic": "..."}

  i.e. the stored event's five fields (docs/verifiable-log.md §1.3, ``state`` the stored bytes in
  base64) plus the 0-based ``leaf_index``: from them a verifier rebuilds every public leaf
  (its public facts and its sealed digest). It holds every event in full, personal data
  included (notes, bank statement lines): never publish it.

- ``minhbach-public-log/2``, the **public export**, which anyone may download
  (:func:`public_chunks`, :func:`export_public`, ``GET /api/v1/public/export``)::

    {"leaf": "<base64 of the leaf bytes>", "leaf_index": i, "position": p}

  every public leaf (its public facts in clear, the rest sealed): enough to rebuild the signed
  root and to recompute every money figure of the public pages (tools/public_figures.py).

The full export streams the events a page at a time (:func:`ledger.audit.stored_events`); the public
one reads the leaf bytes the Merkle projection stored (``merkle_leaves``), a page at a time, so
memory does not grow with the log. Trusting those stored leaves is safe because the verifier
rebuilds the root from them and checks it against the signed head. A file is written beside
``out`` and renamed into place when complete, so a crashed export never leaves a truncated file
under the requested name. ``tools/verify_export.py`` checks both kinds without this project's
code; docs/verifiable-log.md §7 specifies them.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from domain import merkle
from ledger.audit import leaf_record, stored_events
from ledger.bootstrap import CompositionRoot

FORMAT = "minhbach-log/2"
PUBLIC_FORMAT = "minhbach-public-log/2"
ALGORITHM = "Ed25519"
PROGRESS_EVERY = 5000
PUBLIC_PAGE = 10_000

ExportProgress = Callable[[int, int], None]
"""Called as ``progress(leaves written, tree size)``."""


def _line(obj: dict[str, Any]) -> str:
    return merkle.canonical_json(obj).decode("utf-8") + "\n"


def signed_head(row: dict[str, Any]) -> dict[str, Any]:
    """A stored tree head as it is published: exactly the four members, with their JSON types."""
    return {"tree_size": int(row["tree_size"]), "root_hash": str(row["root_hash"]),
            "timestamp": int(row["timestamp"]), "signature": str(row["signature"])}


def latest_head(services: CompositionRoot) -> dict[str, Any]:
    """Bring the Merkle tree up to the end of the log and sign it (unless already signed)."""
    services.runner.catch_up()
    services.tree_heads.publish()
    # With witnesses configured, only a head their quorum cosigned is exported (DESIGN §5).
    head = services.checkpoints.published()
    if head is None:
        raise LookupError("no tree head is published yet (the log is empty, or the witnesses'"
                          " quorum has not cosigned one)")
    return signed_head(head)


def header_line(services: CompositionRoot, head: dict[str, Any], fmt: str) -> str:
    header: dict[str, Any] = {"format": fmt, "public_key": services.tree_heads.public_key,
                              "algorithm": ALGORITHM, "tree_head": head}
    if services.checkpoints.quorum:
        # The head's C2SP checkpoint and its witnesses' cosignatures (none without witnesses).
        header["publication"] = services.checkpoints.publication(head)
    return _line(header)


def _write(out: Path, chunks: Iterable[str]) -> None:
    """Write `chunks` to ``out.partial``, sync, rename into place; on any failure leave nothing."""
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _summary(out: Path, services: CompositionRoot, head: dict[str, Any], **counts: int) -> dict[str, Any]:
    return {"path": str(out), **counts, "public_key": services.tree_heads.public_key, **head,
            "bytes": out.stat().st_size}


# The full export (auditors) ---------------------------------------------------------------------


def _full_chunks(services: CompositionRoot, head: dict[str, Any],
                 progress: ExportProgress | None) -> Iterator[str]:
    size = head["tree_size"]
    yield header_line(services, head, FORMAT)
    if progress:
        progress(0, size)
    written = 0
    for stored in stored_events(services):
        if written == size:
            break
        yield _line({"leaf_index": written, **leaf_record(stored)})
        written += 1
        if progress and written % PROGRESS_EVERY == 0:
            progress(written, size)
    if written != size:
        raise RuntimeError(f"the log has {written} events but its signed tree head has {size}: "
                           "run `minhbach audit verify`")
    if progress:
        progress(written, size)


def export_log(services: CompositionRoot, out: Path,
               progress: ExportProgress | None = None) -> dict[str, Any]:
    """Write the log up to a freshly published signed tree head to ``out``; returns a summary.

    Events appended while the export runs are beyond the head and are not written.
    """
    head = latest_head(services)
    out = Path(out)
    _write(out, _full_chunks(services, head, progress))
    return _summary(out, services, head, events=head["tree_size"])


# The public export (anyone) ---------------------------------------------------------------------


def _public_leaf_line(index: int, position: int, leaf: bytes) -> str:
    # base64 and integers need no JSON escaping: the canonical line, written directly.
    encoded = base64.b64encode(leaf).decode("ascii")
    return f'{{"leaf":"{encoded}","leaf_index":{index},"position":{position}}}\n'


def public_chunks(services: CompositionRoot, head: dict[str, Any], progress: ExportProgress | None = None,
                  *, check_root: bool = False) -> Iterator[str]:
    """The public export of `head` (a :func:`signed_head`): the header line, then one chunk of
    leaf lines per page of ``merkle_leaves``. The same head always gives the same bytes.

    Raises RuntimeError when the stored leaves do not make up the head's tree (leaves missing,
    e.g. while the projection is rebuilt; or, with `check_root`, leaves that do not give the
    signed root), after the lines read so far.
    """
    size = head["tree_size"]
    yield header_line(services, head, PUBLIC_FORMAT)
    if progress:
        progress(0, size)
    frontier = merkle.Frontier() if check_root else None
    written = 0
    while written < size:
        end = min(written + PUBLIC_PAGE, size)
        rows = services.db.query(
            "SELECT leaf_index, position, leaf FROM merkle_leaves"
            " WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index", (written, end))
        lines = []
        for row in rows:
            index, leaf = int(row["leaf_index"]), str(row["leaf"]).encode("utf-8")
            if index != written:
                break
            lines.append(_public_leaf_line(index, int(row["position"]), leaf))
            if frontier is not None:
                frontier.append(merkle.leaf_hash(leaf))
            written += 1
        if lines:
            yield "".join(lines)
        if progress:
            progress(written, size)
        if written < end:
            raise RuntimeError(f"leaf {written} of the signed tree head's {size} is not in the "
                               "Merkle projection (being rebuilt?): run `minhbach audit verify`")
    if frontier is not None and frontier.root().hex() != head["root_hash"]:
        raise RuntimeError("the stored leaves do not give the signed root "
                           f"{head['root_hash']}: run `minhbach audit verify`")


def export_public(services: CompositionRoot, out: Path,
                  progress: ExportProgress | None = None) -> dict[str, Any]:
    """Write the public export (every public leaf) of a freshly published signed tree head to ``out``.

    The root is rebuilt from the leaves as they are written and must be the signed one, so a
    damaged projection fails here rather than in an outsider's hands.
    """
    head = latest_head(services)
    out = Path(out)
    _write(out, public_chunks(services, head, progress, check_root=True))
    return _summary(out, services, head, leaves=head["tree_size"])
