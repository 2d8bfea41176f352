"""`minhbach audit export`: the whole log as JSON Lines, under a freshly signed tree head (DESIGN §5).

Format ``minhbach-log/1``, UTF-8, one JSON object per line, ``\\n`` line ends:

- line 1, the header::

    {"algorithm": "Ed25519", "format": "minhbach-log/1", "public_key": "<hex, 32 bytes>",
     "tree_head": {"tree_size": n, "root_hash": "<hex>", "timestamp": ms, "signature": "<hex>"}}

- then exactly ``tree_size`` lines, one per leaf of that head, in log order::

    {"leaf_index": i, "originator_id": "...", "originator_version": v, "position": p,
     "state": "<base64>", "topic": "..."}

  i.e. the five leaf fields of docs/verifiable-log.md §1.1 (``state`` is the stored bytes in
  base64, as in a leaf) plus the 0-based ``leaf_index``. Every line is canonical JSON.

Events are streamed a page at a time (:func:`api.audit.stored_events`), so memory does not grow
with the log. The file is written beside ``out`` and renamed into place when complete, so a
crashed export never leaves a truncated file under the requested name. ``tools/verify_export.py``
checks such a file without this project's code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.audit import leaf_record, stored_events
from api.services import Services
from domain import merkle

FORMAT = "minhbach-log/1"
ALGORITHM = "Ed25519"
PROGRESS_EVERY = 5000

ExportProgress = Callable[[int, int], None]
"""Called as ``progress(events written, tree size)``."""


def _line(obj: dict[str, Any]) -> str:
    return merkle.canonical_json(obj).decode("utf-8") + "\n"


def latest_head(services: Services) -> dict[str, Any]:
    """Bring the Merkle tree up to the end of the log and sign it (unless already signed)."""
    services.runner.catch_up()
    services.tree_heads.publish()
    head = services.tree_heads.latest()
    if head is None:
        raise LookupError("the log is empty: there is no tree head to export")
    return {"tree_size": int(head["tree_size"]), "root_hash": str(head["root_hash"]),
            "timestamp": int(head["timestamp"]), "signature": str(head["signature"])}


def export_log(services: Services, out: Path, progress: ExportProgress | None = None) -> dict[str, Any]:
    """Write the log up to a freshly published signed tree head to ``out``; returns a summary.

    Events appended while the export runs are beyond the head and are not written.
    """
    head = latest_head(services)
    size = head["tree_size"]
    header = {"format": FORMAT, "public_key": services.tree_heads.public_key,
              "algorithm": ALGORITHM, "tree_head": head}
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    written = 0
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as f:
            f.write(_line(header))
            if progress:
                progress(0, size)
            for stored in stored_events(services):
                if written == size:
                    break
                f.write(_line({"leaf_index": written, **leaf_record(stored)}))
                written += 1
                if progress and written % PROGRESS_EVERY == 0:
                    progress(written, size)
            f.flush()
            os.fsync(f.fileno())
        if written != size:
            raise RuntimeError(f"the log has {written} events but its signed tree head has {size}: "
                               "run `minhbach audit verify`")
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if progress:
        progress(written, size)
    return {"path": str(out), "events": written, "public_key": header["public_key"], **head,
            "bytes": out.stat().st_size}
