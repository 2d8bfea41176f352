"""`minhbach publish tiles DIR` on a real store (SQLite and PostgreSQL): every proof read back
from the files alone, incremental runs, and the command run once as an operator would."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

from domain import checkpoint, merkle, tiles
from domain.meta import Context
from ledger import proofs
from ledger.bootstrap import CompositionRoot
from ledger.publish import CHECKPOINT, publish_tiles, read_tile
from tests.conftest import make_services
from tests.go_check import build as build_go

CTX = Context(actor="test", role="finance", request_id="publish-tiles")
ORIGIN = "example.org/minhbach"
TILECHECK = Path(__file__).resolve().parents[1] / "go" / "tilecheck"


def add_events(services: CompositionRoot, donors: int) -> None:
    for i in range(donors):
        name = f"Công ty {i} {uuid.uuid4().hex[:6]}"
        d = UUID(services.ledger.register_donor(CTX, uuid.uuid4().hex, name=name, kind="organisation",
                                                public_name=name)["id"])
        if i % 20 == 0:
            services.ledger.record_receipt(CTX, uuid.uuid4().hex, donor_id=d, fund="campaign",
                                           received_on="2021-10-01", amount_vnd=100_000 + i,
                                           channel="cash")
    services.runner.catch_up()


def read_checkpoint(services: CompositionRoot, root: Path) -> checkpoint.Checkpoint:
    """The published checkpoint, its signature checked with the ledger's public key."""
    note = checkpoint.verify_note((root / CHECKPOINT).read_bytes(), ORIGIN,
                                  bytes.fromhex(services.tree_heads.public_key))
    return checkpoint.parse_checkpoint(note.body)


def leaves_from_files(root: Path, size: int) -> list[bytes]:
    out: list[bytes] = []
    for tile in tiles.tiles_for(size):
        if tile.level == 0:
            out.extend(tiles.parse_bundle((root / tile.entries_path).read_bytes()))
    return out


def check_from_files(services: CompositionRoot, root: Path) -> checkpoint.Checkpoint:
    """Everything a reader of the files can check, against what the ledger serves."""
    cp = read_checkpoint(services, root)
    assert cp.origin == ORIGIN
    head = services.tree_heads.latest()
    assert head is not None and cp.size == int(head["tree_size"]) and cp.root.hex() == head["root_hash"]
    fetch = tiles.tile_fetch(cp.size, read_tile(root))
    assert merkle.root(cp.size, fetch) == cp.root
    leaves = leaves_from_files(root, cp.size)
    assert len(leaves) == cp.size
    stored = services.db.query("SELECT leaf_index, position, leaf FROM merkle_leaves"
                               " WHERE leaf_index < ? ORDER BY leaf_index", (cp.size,))
    assert [str(r["leaf"]).encode("utf-8") for r in stored] == leaves  # the public leaves, in order
    for index in sorted({0, 1, cp.size // 2, cp.size - 1} | set(range(0, cp.size, 37))):
        path = merkle.inclusion_path(index, cp.size, fetch)
        assert merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, cp.size, path, cp.root)
        served = proofs.inclusion_proof(services, int(stored[index]["position"]), cp.size)
        assert served["audit_path"] == [h.hex() for h in path]
    return cp


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def test_publish_proofs_from_files_and_incremental(database_url: str, tmp_path: Path) -> None:
    services = make_services(database_url, tmp_path / "data")
    out = tmp_path / "www"
    try:
        add_events(services, 270)  # past one full tile of 256
        first = publish_tiles(services, out, origin=ORIGIN)
        assert first["written"][-1] == CHECKPOINT  # the checkpoint last
        assert first["kept"] == 0
        old = check_from_files(services, out)
        assert old.size > tiles.WIDTH
        assert {"tile/0/000", "tile/entries/000", "tile/1/000.p/1"} <= set(first["written"])
        assert not list(out.rglob("*.tmp"))
        before = snapshot(out)

        # Nothing new: only the checkpoint is written again (the same head, the same bytes).
        again = publish_tiles(services, out, origin=ORIGIN)
        assert again["written"] == [CHECKPOINT]
        assert (out / CHECKPOINT).read_bytes() == before[CHECKPOINT][0]

        add_events(services, 260)
        second = publish_tiles(services, out, origin=ORIGIN)
        new = check_from_files(services, out)
        after = snapshot(out)
        full_before = {p for p in before if p != CHECKPOINT and ".p/" not in p}
        assert full_before and not full_before & set(second["written"])  # full tiles never rewritten
        for p in before:  # every earlier file (old partial tiles too) kept byte-identical, untouched
            if p != CHECKPOINT:
                assert after[p] == before[p]
        assert set(second["written"]) == set(after) - set(before) | {CHECKPOINT}
        assert {"tile/0/001", "tile/entries/001"} <= set(second["written"])
        assert second["kept"] == len(tiles.tiles_for(new.size)) + sum(
            t.level == 0 for t in tiles.tiles_for(new.size)) - len(second["written"]) + 1

        # The old checkpoint is a prefix of the new one, proved from the new files alone.
        proof = merkle.consistency_proof(old.size, new.size, tiles.tile_fetch(new.size, read_tile(out)))
        assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    finally:
        services.close()


def test_a_damaged_tile_stops_before_the_checkpoint(sqlite_url: str, tmp_path: Path) -> None:
    services = make_services(sqlite_url, tmp_path / "data")
    out = tmp_path / "www"
    try:
        add_events(services, 10)
        publish_tiles(services, out, origin=ORIGIN)
        kept = (out / CHECKPOINT).read_bytes()
        add_events(services, 3)
        # A stale partial tile of the new width, planted: the writer keeps existing files, so the
        # root rebuilt from the directory is wrong and the checkpoint must stay the old one.
        size = services.db.query_one("SELECT COUNT(*) AS n FROM merkle_leaves")
        assert size is not None
        planted = out / tiles.Tile(0, 0, int(size["n"])).path
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_bytes(b"\x00" * 32 * int(size["n"]))
        try:
            publish_tiles(services, out, origin=ORIGIN)
        except RuntimeError as e:
            assert "signed" in str(e)
        else:
            raise AssertionError("a wrong tile was published under a new checkpoint")
        assert (out / CHECKPOINT).read_bytes() == kept
    finally:
        services.close()


def test_the_command(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = {**os.environ, "MINHBACH_DATA_DIR": str(data)}
    env.pop("MINHBACH_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], env=env, check=True,
                   capture_output=True, timeout=120)
    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        add_events(services, 5)
    finally:
        services.close()
    out = tmp_path / "www"
    run = subprocess.run([sys.executable, "-m", "api.cli", "publish", "tiles", str(out),
                          "--origin", ORIGIN], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        cp = check_from_files(services, out)
        assert f"published tree size {cp.size}, root {cp.root.hex()}" in run.stdout
    finally:
        services.close()


def test_go_sumdb_tlog_reads_the_published_tiles(sqlite_url: str, tmp_path: Path) -> None:
    """Go's x/mod/sumdb/tlog, another implementation, checks every tile against the checkpoint's
    root and proves every leaf and every older size from the files."""
    tilecheck = build_go(tmp_path, TILECHECK, "sumdb/tlog")
    services = make_services(sqlite_url, tmp_path / "data")
    out = tmp_path / "www"
    try:
        add_events(services, 300)
        publish_tiles(services, out, origin=ORIGIN)
        cp = check_from_files(services, out)
    finally:
        services.close()

    def tiles_check(root: bytes) -> dict[str, Any]:
        leaves = [base64.b64encode(e).decode("ascii") for e in leaves_from_files(out, cp.size)]
        request = {"dir": str(out), "size": cp.size, "root": base64.b64encode(root).decode("ascii"),
                   "leaves": leaves}
        return tilecheck.request(request, timeout=120)

    assert tiles_check(cp.root) == {"ok": True}
    # Not a rubber stamp: another root fails (tlog checks the tiles it reads against it).
    assert tiles_check(bytes(32))["ok"] is False


def test_a_newer_checkpoint_is_not_replaced_by_an_older_one(sqlite_url: str, tmp_path: Path) -> None:
    services = make_services(sqlite_url, tmp_path / "data")
    out = tmp_path / "www"
    try:
        add_events(services, 3)
        publish_tiles(services, out, origin=ORIGIN)
        cp = read_checkpoint(services, out)
        # As if a run that started later, over a longer log, had finished first.
        newer = checkpoint.sign_note(checkpoint.checkpoint_body(ORIGIN, cp.size + 5, bytes(32)),
                                     ORIGIN, services.tree_heads.key)
        (out / CHECKPOINT).write_bytes(newer)
        assert CHECKPOINT not in publish_tiles(services, out, origin=ORIGIN)["written"]
        assert (out / CHECKPOINT).read_bytes() == newer
        (out / CHECKPOINT).write_bytes(b"garbage")  # unreadable: replaced
        assert publish_tiles(services, out, origin=ORIGIN)["written"] == [CHECKPOINT]
        assert read_checkpoint(services, out) == cp
    finally:
        services.close()
