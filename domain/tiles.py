"""The log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile coordinates, paths, tile and
entry-bundle bytes, and proofs read back from tiles alone. Pure, no IO.

A tile at level ``L``, index ``N`` and width ``W`` (1 … 256) holds the Merkle Tree Hashes
``MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])`` for ``i < W``, i.e. the stored perfect nodes
``(8·L, N·256 + i)`` of domain/merkle.py, 32 bytes each, concatenated. For a tree of size ``s``
level ``L`` has ``s // 256^L`` such hashes: the full tiles of 256 and, if ``(s // 256^L) % 256``
is not zero, one partial tile of that width (served at ``tile/<L>/<N>.p/<W>``). Every perfect
node ``(8·L + h, j)`` with ``h < 8`` lies inside one tile of level ``L`` and is the MTH of
``2^h`` of its hashes (:func:`run_below`): :func:`fetch_below` makes the
:data:`domain.merkle.Fetch` the proof builders take from the tile levels alone, read from the
files by :func:`tile_fetch` (so inclusion and consistency proofs come from the files alone).
projections/merkle.py keeps every fourth level in the same way (the tile levels among them).

Entry bundles (``tile/entries/<N>[.p/<W>]``) hold the leaves of the level-0 tile ``N``, each
as a big-endian uint16 length and the leaf bytes, in leaf-index order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from domain import merkle

__all__ = [
    "HEIGHT",
    "MAX_ENTRY",
    "WIDTH",
    "ReadRuns",
    "ReadTile",
    "Run",
    "Tile",
    "bundle",
    "encode_index",
    "entries_path",
    "fetch_below",
    "hashes_of",
    "parse_bundle",
    "run_below",
    "tile_bytes",
    "tile_fetch",
    "tile_keys",
    "tiles_for",
]

HEIGHT = 8
WIDTH = 1 << HEIGHT  # 256 hashes in a full tile
MAX_ENTRY = 0xFFFF  # an entry's length is a uint16


class Tile(NamedTuple):
    """One tile: ``level`` 0 … 63, ``n`` its index within the level, ``width`` 1 … 256 (256: full).
    Entry bundles share the coordinates of the level-0 tiles."""

    level: int
    n: int
    width: int

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    @property
    def path(self) -> str:
        return f"tile/{self.level}/{encode_index(self.n)}{_suffix(self.width)}"

    @property
    def entries_path(self) -> str:
        """The entry bundle beside this level-0 tile."""
        if self.level != 0:
            raise ValueError("only level-0 tiles have entry bundles")
        return entries_path(self.n, self.width)


def _check(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def encode_index(index: int) -> str:
    """``N`` as zero-padded 3-digit path elements, all but the last prefixed with ``x``:
    1234067 → ``x001/x234/067``, 5 → ``005``."""
    _check("index", index, 0, 1 << 63)
    parts = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        parts.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(parts))


def _suffix(width: int) -> str:
    _check("width", width, 1, WIDTH)
    return "" if width == WIDTH else f".p/{width}"


def entries_path(index: int, width: int = WIDTH) -> str:
    return f"tile/entries/{encode_index(index)}{_suffix(width)}"


def tiles_for(tree_size: int) -> list[Tile]:
    """Every tile of a tree of ``tree_size`` leaves, level by level, left to right; none when empty."""
    _check("tree_size", tree_size, 0, merkle.MAX_TREE_SIZE)
    out: list[Tile] = []
    level, count = 0, tree_size
    while count:
        out.extend(Tile(level, n, WIDTH) for n in range(count // WIDTH))
        if count % WIDTH:
            out.append(Tile(level, count // WIDTH, count % WIDTH))
        level, count = level + 1, count // WIDTH
    return out


def tile_keys(tile: Tile) -> list[merkle.Key]:
    """The perfect nodes of domain/merkle.py whose hashes the tile holds, in order."""
    start = tile.n * WIDTH
    return [(HEIGHT * tile.level, start + i) for i in range(tile.width)]


def tile_bytes(hashes: Sequence[bytes]) -> bytes:
    """A tile's file: its 1 … 256 hashes concatenated."""
    if not 1 <= len(hashes) <= WIDTH or any(len(h) != merkle.HASH_SIZE for h in hashes):
        raise ValueError("a tile holds 1 to 256 hashes of 32 bytes")
    return b"".join(hashes)


def hashes_of(data: bytes, width: int) -> list[bytes]:
    """The hashes of a tile file that should be ``width`` wide; ValueError if it is not."""
    if len(data) != width * merkle.HASH_SIZE:
        raise ValueError(f"a tile of width {width} has {width * merkle.HASH_SIZE} bytes, not {len(data)}")
    return [data[i:i + merkle.HASH_SIZE] for i in range(0, len(data), merkle.HASH_SIZE)]


def bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    parts: list[bytes] = []
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit a uint16 length")
        parts.append(len(entry).to_bytes(2, "big"))
        parts.append(bytes(entry))
    if not 1 <= len(parts) // 2 <= WIDTH:
        raise ValueError("an entry bundle holds 1 to 256 entries")
    return b"".join(parts)


def parse_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; ValueError if its lengths do not add up to its size."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("truncated entry length")
        size = int.from_bytes(data[pos:pos + 2], "big")
        pos += 2
        if pos + size > len(data):
            raise ValueError("truncated entry")
        out.append(data[pos:pos + size])
        pos += size
    return out


ReadTile = Callable[[Tile], bytes]
"""Given a tile, return its file's bytes (e.g. read ``DIR/<tile.path>``)."""


Run = tuple[int, int, int]
"""``(L, first, count)``: the hashes ``first`` … ``first + count - 1`` of kept level ``L`` (the
perfect nodes ``(height·L, i)``, height 8 for tiles; level 0 holds the leaf hashes)."""

ReadRuns = Callable[[list[Run]], Mapping[tuple[int, int], bytes]]
"""Given runs, return at least their hashes as ``{(L, i): hash}``; LookupError if the tree has
not got one of them."""


def run_below(key: merkle.Key, height: int = HEIGHT) -> Run:
    """The run of kept hashes whose MTH is the perfect node ``key``, when every ``height``-th
    level is kept: node ``(height·L + h, j)`` is the MTH of the ``2^h`` hashes ``j·2^h`` …
    ``(j+1)·2^h − 1`` of kept level ``L`` (for tiles, all in one tile)."""
    level, j = key
    tlevel, h = divmod(level, height)
    return tlevel, j << h, 1 << h


def fetch_below(read: ReadRuns, height: int = HEIGHT) -> merkle.Fetch:
    """A :data:`domain.merkle.Fetch` that makes each node from the kept hashes below it
    (:func:`run_below`), all read by one call of ``read``: so only every ``height``-th level need
    be kept, whether as files (the tile levels) or as rows."""

    def fetch(keys: list[merkle.Key]) -> dict[merkle.Key, bytes]:
        runs = {key: run_below(key, height) for key in keys}
        hashes = read(list(dict.fromkeys(runs.values())))
        out: dict[merkle.Key, bytes] = {}
        for key, (tlevel, first, count) in runs.items():
            try:
                out[key] = merkle.perfect_root([hashes[(tlevel, i)] for i in range(first, first + count)])
            except KeyError:
                raise LookupError(f"merkle node {key}: hashes of kept level {tlevel} missing") from None
        return out

    return fetch


def tile_fetch(tree_size: int, read: ReadTile) -> merkle.Fetch:
    """A :data:`domain.merkle.Fetch` over the tiles of a tree of ``tree_size`` leaves.

    Each node ``(level, j)`` is found in the tile of level ``level // 8`` that holds the hashes
    below it; each tile is read once per fetch, and checked to be as wide as the tree size says.
    Asking for a node outside the tree raises LookupError.
    """
    _check("tree_size", tree_size, 0, merkle.MAX_TREE_SIZE)

    def read_runs(runs: list[Run]) -> dict[tuple[int, int], bytes]:
        out: dict[tuple[int, int], bytes] = {}
        done: set[tuple[int, int]] = set()
        for tlevel, first, count in runs:
            have = tree_size >> (HEIGHT * tlevel)  # hashes at that level in this tree
            if first + count > have:
                raise LookupError(f"hashes {first} … {first + count - 1} of tile level {tlevel}"
                                  f" are not in a tree of {tree_size}")
            index = first // WIDTH
            if (tlevel, index) not in done:
                width = min(WIDTH, have - index * WIDTH)
                hashes = hashes_of(read(Tile(tlevel, index, width)), width)
                out.update(((tlevel, index * WIDTH + i), h) for i, h in enumerate(hashes))
                done.add((tlevel, index))
        return out

    return fetch_below(read_runs)
