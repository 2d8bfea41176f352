"""`minhbach publish tiles DIR`: the public log as static C2SP tlog-tiles (domain/tiles.py).

``DIR`` receives ``tile/<L>/<N>[.p/<W>]`` (hash tiles), ``tile/entries/<N>[.p/<W>]`` (the public
leaves of domain/leaf.py, the same bytes as the public export) and ``checkpoint`` (the signed
tree head as a C2SP checkpoint), so that any web server, CDN or object store serves every
proof with no load on the ledger.

Incremental and safe to interrupt: every file is written beside its place and renamed into it;
a tile or bundle already there is never rewritten (its bytes are fixed by the append-only log:
a full tile never changes, and a partial one's path names its width), so a run writes only
the tiles that became full and the partial tiles of the new size. Before the checkpoint is
replaced — last — the root is rebuilt from the files in ``DIR`` alone and must be the signed
one: a reader never sees a checkpoint whose tiles are missing or wrong; and a checkpoint of a
larger tree already there (a run that started later but finished first) is kept. Old partial tiles are
kept (the spec lets a log delete them; clients holding an older checkpoint may still need them).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain import checkpoint, merkle, tiles
from ledger.bootstrap import CompositionRoot
from ledger.export import latest_head
from projections.merkle import leaves_between, level_hashes

CHECKPOINT = "checkpoint"

PublishProgress = Callable[[int, int], None]
"""Called as ``progress(files written, files to write)``."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, sync it, rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_tile(root: Path) -> tiles.ReadTile:
    """Read tiles from a published directory (for :func:`domain.tiles.tile_fetch`)."""

    def read(tile: tiles.Tile) -> bytes:
        return (root / tile.path).read_bytes()

    return read


def _wanted(root: Path, size: int) -> list[tuple[str, tiles.Tile]]:
    """The files of a tree of `size` not yet in `root`: ("tile" | "entries", tile)."""
    out: list[tuple[str, tiles.Tile]] = []
    for tile in tiles.tiles_for(size):
        if not (root / tile.path).exists():
            out.append(("tile", tile))
        if tile.level == 0 and not (root / tile.entries_path).exists():
            out.append(("entries", tile))
    return out


def _contents(services: CompositionRoot, kind: str, tile: tiles.Tile) -> bytes:
    start = tile.n * tiles.WIDTH
    with services.db.read() as cur:
        if kind == "tile":
            return tiles.tile_bytes(level_hashes(cur, tiles.HEIGHT * tile.level, start,
                                                 start + tile.width))
        entries = leaves_between(cur, start, start + tile.width)
        # The bundle must hash to its level-0 tile: check against the stored leaf hashes.
        stored = level_hashes(cur, 0, start, start + tile.width)
    if [merkle.leaf_hash(e) for e in entries] != stored:
        raise RuntimeError(f"the stored leaves of bundle {tile.entries_path} do not give their "
                           "stored hashes: run `minhbach audit verify`")
    return tiles.bundle(entries)


def checkpoint_note(services: CompositionRoot, head: dict[str, Any], origin: str) -> bytes:
    """`head` as a C2SP checkpoint signed (Ed25519 note signature) by the ledger's signing key,
    the key of the signed tree heads; the signature's name is the origin."""
    body = checkpoint.checkpoint_body(origin, int(head["tree_size"]), bytes.fromhex(head["root_hash"]))
    return checkpoint.sign_note(body, origin, services.tree_heads.key)


def _published_size(root: Path, origin: str) -> int:
    """The size of the checkpoint already in `root` (-1 if none or unreadable): a slower run
    started earlier must not put an older checkpoint back over a newer one."""
    try:
        note = checkpoint.parse_note((root / CHECKPOINT).read_bytes())
        found = checkpoint.parse_checkpoint(note.body)
    except (OSError, ValueError):
        return -1
    return found.size if found.origin == origin else -1


def publish_tiles(services: CompositionRoot, out: Path, progress: PublishProgress | None = None,
                  *, origin: str = checkpoint.DEFAULT_ORIGIN) -> dict[str, Any]:
    """Publish the log up to a freshly signed tree head into the directory `out`; `origin` is
    the checkpoint's first line (the spec: the URL prefix the files are served at, no scheme).

    Returns ``{"path", "tree_size", "root_hash", "written": [relative paths, checkpoint last],
    "kept": files already there}``. Raises LookupError on an empty log, RuntimeError when the
    stored tree does not give the signed root (nothing is then replaced under ``checkpoint``).
    """
    head = latest_head(services)
    size = int(head["tree_size"])
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    todo = _wanted(root, size)
    total_files = sum(2 if t.level == 0 else 1 for t in tiles.tiles_for(size))
    written: list[str] = []
    if progress:
        progress(0, len(todo))
    for done, (kind, tile) in enumerate(todo, 1):
        try:
            data = _contents(services, kind, tile)
        except LookupError as e:
            raise RuntimeError(f"{e}: run `minhbach audit verify`") from e
        except ValueError as e:  # a leaf longer than a bundle's uint16 length allows
            raise RuntimeError(f"{tile.entries_path}: {e}") from e
        rel = tile.path if kind == "tile" else tile.entries_path
        write_atomic(root / rel, data)
        written.append(rel)
        if progress:
            progress(done, len(todo))
    try:
        rebuilt = merkle.root(size, tiles.tile_fetch(size, read_tile(root)))
    except (OSError, LookupError, ValueError) as e:
        raise RuntimeError(f"the tiles in {root} do not make up the tree of {size}: {e}") from e
    if rebuilt.hex() != head["root_hash"]:
        raise RuntimeError(f"the tiles in {root} give the root {rebuilt.hex()}, not the signed "
                           f"{head['root_hash']}: remove the directory and publish again")
    if _published_size(root, origin) <= size:
        write_atomic(root / CHECKPOINT, checkpoint_note(services, head, origin))
        written.append(CHECKPOINT)
    return {"path": str(root), "origin": origin, "tree_size": size, "root_hash": head["root_hash"],
            "public_key": services.tree_heads.public_key,
            "written": written, "kept": total_files - len(todo)}
