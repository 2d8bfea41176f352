"""What a newcomer's `make run` starts: the demo loaded, the server, and three witnesses (issue 14,
item 7), each its own process with its own key, whose cosignatures publish the tree head."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from domain import checkpoint as cp
from ledger.demo_witnesses import PARTNERS, QUORUM
from tests.crash_support import Environment, Managed, free_port

DEADLINE_S = 90


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def _cosigned_by_all(base: str) -> tuple[str, dict]:
    """Wait until every demo witness has cosigned the latest checkpoint; (note, /witnesses)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        note = httpx.get(base + "/api/v1/audit/checkpoint", timeout=10)
        if note.status_code == 200 and note.text.count("\n— ") == 1 + len(PARTNERS):
            return note.text, httpx.get(base + "/api/v1/audit/witnesses", timeout=10).json()
        assert time.monotonic() < deadline, f"not cosigned by all in {DEADLINE_S}s: {note.text}"
        time.sleep(0.2)  # polling a condition the witnesses' own rounds will make true


def _gone(pids: set[int]) -> bool:
    deadline = time.monotonic() + DEADLINE_S
    while any(Path(f"/proc/{p}").exists() and "zombie" not in _state(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (FileNotFoundError, IndexError):
        return "zombie"


def test_make_run_starts_three_witnesses_whose_quorum_publishes_the_head(tmp_path: Path) -> None:
    env = Environment(database_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
                      data_dir=tmp_path / "var", logs=tmp_path)
    loaded = env.run("demo", timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    port = free_port()
    server = Managed(env, "serve", ["serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--demo-witnesses"], "Application startup complete")
    server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        assert server.proc is not None
        witnesses = _children(server.proc.pid)
        assert len(witnesses) == len(PARTNERS), server.tail()
        note, described = _cosigned_by_all(base)
        assert described["quorum"] == QUORUM
        keys = {w["name"]: bytes.fromhex(w["public_key"]) for w in described["witnesses"]}
        assert sorted(keys) == sorted(name for _, name in PARTNERS)
        assert len(set(keys.values())) == len(PARTNERS), "each witness has its own key"
        parsed = cp.parse_note(note.encode())
        by_name = {s.name: s for s in parsed.signatures}
        for name, key in keys.items():
            cp.verify_cosignature(parsed.body, by_name[name], name, key)  # raises if forged
        # Published: what the public pages carry is this head, with its cosignatures.
        published = described["published"]
        assert published["tree_size"] == cp.parse_checkpoint(parsed.body).size
        assert {c["witness"] for c in published["cosignatures"]} == set(keys)
        # Each kept its own key and state, in its own directory.
        for slug, _ in PARTNERS:
            directory = env.data_dir / "demo-witnesses" / slug
            assert (directory / "witness.key").stat().st_mode & 0o077 == 0
            assert '"checkpoint"' in (directory / "witness.json").read_text()
        # The server killed outright: the witnesses don't outlive it.
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        assert _gone(witnesses), "a demo witness outlived the server"
        # Started again: each witness goes on from the checkpoint it kept (no alarm).
        server.start()
        assert _cosigned_by_all(base)[0] == note
        assert "FORK" not in server.tail(400)
    finally:
        server.stop()
