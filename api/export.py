"""`minhbach audit export`: the log as JSON Lines, under a signed tree head (DESIGN §5).

Two kinds of file, both UTF-8, one canonical-JSON object per line, ``\\n`` line ends, and the
same first line, the header::

    {"algorithm": "Ed25519", "format": "<format>", "public_key": "<hex, 32 bytes>",
     "tree_head": {"tree_size": n, "root_hash": "<hex>", "timestamp": ms, "signature": "<hex>"}}

followed by exactly ``tree_size`` lines, one per leaf of that head, in log order (leaf index
0, 1, 2, …):

- ``minhbach-log/1``, the **full export**, for auditors (:func:`export_log`)::

    {"leaf_index": i, "originator_id": "...", "originator_version": v, "position": p,
     "state": "<base64>", "topic": "..."}

  i.e. the five leaf fields of docs/verifiable-log.md §1.1 (``state`` is the stored bytes in
  base64, as in a leaf) plus the 0-based ``leaf_index``. It holds every event in full, personal
  data included (donors, notes, bank statement lines): never publish it.

- ``minhbach-public-log/1``, the **public export**, which anyone may download
  (:func:`public_chunks`, :func:`export_public`, ``GET /api/v1/public/export``)::

    {"leaf_hash": "<hex>", "leaf_index": i, "position": p}

  the leaf hashes only, never an event: enough to rebuild the signed root, and to find a leaf
  one was given (a receipt's, from ``/public/donations/{reference}``) at its index.

The full export streams the events a page at a time (:func:`api.audit.stored_events`); the public
one reads the leaf hashes the Merkle projection stored (``merkle_leaves``), a page at a time, so
memory does not grow with the log. Trusting those stored hashes is safe because the verifier
rebuilds the root from them and checks it against the signed head. A file is written beside
``out`` and renamed into place when complete, so a crashed export never leaves a truncated file
under the requested name. ``tools/verify_export.py`` checks both kinds without this project's
code; docs/verifiable-log.md §7 specifies them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from api.audit import leaf_record, stored_events
from api.services import Services
from domain import merkle

FORMAT = "minhbach-log/1"
PUBLIC_FORMAT = "minhbach-public-log/1"
ALGORITHM = "Ed25519"
PROGRESS_EVERY = 5000
PUBLIC_PAGE = 10_000
_HEX64 = re.compile(r"[0-9a-f]{64}")

ExportProgress = Callable[[int, int], None]
"""Called as ``progress(leaves written, tree size)``."""


def _line(obj: dict[str, Any]) -> str:
    return merkle.canonical_json(obj).decode("utf-8") + "\n"


def signed_head(row: dict[str, Any]) -> dict[str, Any]:
    """A stored tree head as it is published: exactly the four members, with their JSON types."""
    return {"tree_size": int(row["tree_size"]), "root_hash": str(row["root_hash"]),
            "timestamp": int(row["timestamp"]), "signature": str(row["signature"])}


def latest_head(services: Services) -> dict[str, Any]:
    """Bring the Merkle tree up to the end of the log and sign it (unless already signed)."""
    services.runner.catch_up()
    services.tree_heads.publish()
    head = services.tree_heads.latest()
    if head is None:
        raise LookupError("the log is empty: there is no tree head to export")
    return signed_head(head)


def header_line(services: Services, head: dict[str, Any], fmt: str) -> str:
    return _line({"format": fmt, "public_key": services.tree_heads.public_key,
                  "algorithm": ALGORITHM, "tree_head": head})


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


def _summary(out: Path, services: Services, head: dict[str, Any], **counts: int) -> dict[str, Any]:
    return {"path": str(out), **counts, "public_key": services.tree_heads.public_key, **head,
            "bytes": out.stat().st_size}


# The full export (auditors) ---------------------------------------------------------------------


def _full_chunks(services: Services, head: dict[str, Any],
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


def export_log(services: Services, out: Path, progress: ExportProgress | None = None) -> dict[str, Any]:
    """Write the log up to a freshly published signed tree head to ``out``; returns a summary.

    Events appended while the export runs are beyond the head and are not written.
    """
    head = latest_head(services)
    out = Path(out)
    _write(out, _full_chunks(services, head, progress))
    return _summary(out, services, head, events=head["tree_size"])


# The public export (anyone) ---------------------------------------------------------------------


def _public_leaf_line(index: int, position: int, leaf_hash: str) -> str:
    if _HEX64.fullmatch(leaf_hash):  # the common case, without a trip through json
        return f'{{"leaf_hash":"{leaf_hash}","leaf_index":{index},"position":{position}}}\n'
    return _line({"leaf_hash": leaf_hash, "leaf_index": index, "position": position})


def public_chunks(services: Services, head: dict[str, Any], progress: ExportProgress | None = None,
                  *, check_root: bool = False) -> Iterator[str]:
    """The public export of `head` (a :func:`signed_head`): the header line, then one chunk of
    leaf lines per page of ``merkle_leaves``. The same head always gives the same bytes.

    Raises RuntimeError when the stored leaves do not make up the head's tree (leaves missing,
    e.g. while the projection is rebuilt; or, with `check_root`, hashes that do not give the
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
            "SELECT leaf_index, position, leaf_hash FROM merkle_leaves"
            " WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index", (written, end))
        lines = []
        for row in rows:
            index, leaf_hash = int(row["leaf_index"]), str(row["leaf_hash"])
            if index != written:
                break
            lines.append(_public_leaf_line(index, int(row["position"]), leaf_hash))
            if frontier is not None:
                if not _HEX64.fullmatch(leaf_hash):
                    raise RuntimeError(f"leaf {index}: the stored hash {leaf_hash!r} is not a "
                                       "SHA-256 in hex: run `minhbach audit verify`")
                frontier.append(bytes.fromhex(leaf_hash))
            written += 1
        if lines:
            yield "".join(lines)
        if progress:
            progress(written, size)
        if written < end:
            raise RuntimeError(f"leaf {written} of the signed tree head's {size} is not in the "
                               "Merkle projection (being rebuilt?): run `minhbach audit verify`")
    if frontier is not None and frontier.root().hex() != head["root_hash"]:
        raise RuntimeError("the stored leaf hashes do not give the signed root "
                           f"{head['root_hash']}: run `minhbach audit verify`")


def export_public(services: Services, out: Path, progress: ExportProgress | None = None) -> dict[str, Any]:
    """Write the public export (leaf hashes only) of a freshly published signed tree head to ``out``.

    The root is rebuilt from the hashes as they are written and must be the signed one, so a
    damaged projection fails here rather than in an outsider's hands.
    """
    head = latest_head(services)
    out = Path(out)
    _write(out, public_chunks(services, head, progress, check_root=True))
    return _summary(out, services, head, leaves=head["tree_size"])
