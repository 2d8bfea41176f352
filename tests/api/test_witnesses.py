"""Witnesses (issue 14, items 1–3): the C2SP checkpoint, the witness that cosigns it only after a
consistency proof, and the ledger's quorum policy, through HTTP on both databases."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from api.app import create_app
from domain import checkpoint as cp
from ledger.bootstrap import CompositionRoot, build
from ledger.export import export_public
from ledger.settings import Settings
from ledger.witness import Witness
from tests import helpers
from tests.go_check import GoCheck

ORIGIN = "minhbach.test/log"
NAMES = ("mttq.langson.vn/w", "hlhpn.langson.vn/w", "chuthapdo.langson.vn/w")
KEYS = {n: Ed25519PrivateKey.from_private_bytes(bytes([i + 1]) * 32) for i, n in enumerate(NAMES)}
SIGNING_HEX = "42" * 32


def settings(database_url: str, data_dir: Path, quorum: int = 2) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, run_projections=False,
                    signing_key_hex=SIGNING_HEX, checkpoint_origin=ORIGIN, witness_quorum=quorum,
                    witnesses=";".join(f"{n}={cp.public_bytes(k).hex()}" for n, k in KEYS.items()))


def grow(svc: CompositionRoot, *codes: str) -> dict[str, Any]:
    """Record some events, bring the Merkle tree up to them and sign a head."""
    helpers.open_seasons(svc.ledger, codes)
    svc.runner.catch_up()
    svc.tree_heads.publish()
    head = svc.tree_heads.latest()
    assert head is not None
    return head


@pytest.fixture
def witnessed(database_url: str, tmp_path: Path) -> Iterator[tuple[CompositionRoot, TestClient]]:
    svc = build(settings(database_url, tmp_path / "data"))
    try:
        with TestClient(create_app(services=svc)) as client:
            yield svc, client
    finally:
        svc.close()


def witness(name: str, client: httpx.Client, state: Path) -> Witness:
    return Witness(name=name, key=KEYS[name], state_file=state, origin=ORIGIN,
                   log_public_key=cp.public_bytes(Ed25519PrivateKey.from_private_bytes(
                       bytes.fromhex(SIGNING_HEX))), client=client)


def test_the_checkpoint_is_a_c2sp_note_go_opens(
        witnessed: tuple[CompositionRoot, TestClient], go_check: GoCheck) -> None:
    svc, client = witnessed
    first = grow(svc, "2010")
    second = grow(svc, "2011", "2012")
    answer = client.get("/api/v1/audit/checkpoint")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    described = client.get("/api/v1/audit/witnesses").json()
    assert described["origin"] == ORIGIN and described["quorum"] == 2
    assert [w["name"] for w in described["witnesses"]] == list(NAMES)
    opened = go_check("open", note=answer.text, vkeys=[described["log_key"]])
    assert opened["ok"], opened
    root = base64.b64encode(bytes.fromhex(second["root_hash"])).decode()
    assert opened["text"] == f"{ORIGIN}\n{second['tree_size']}\n{root}\n"
    # The STH JSON is unchanged beside it, and the consistency proof is RFC 6962's for Go too.
    assert client.get("/api/v1/audit/tree-head").json() == second
    proof = client.get("/api/v1/audit/proofs/consistency", params={
        "first": first["tree_size"], "second": second["tree_size"]}).json()
    b64 = [base64.b64encode(bytes.fromhex(h)).decode() for h in proof["proof"]]
    checked = go_check("consistency", old=first["tree_size"], size=second["tree_size"],
                       old_root=base64.b64encode(bytes.fromhex(first["root_hash"])).decode(),
                       root=root, proof=b64)
    assert checked["ok"], checked
    older = client.get("/api/v1/audit/checkpoint", params={"tree_size": first["tree_size"]})
    assert f"\n{first['tree_size']}\n" in older.text
    assert client.get("/api/v1/audit/checkpoint", params={"tree_size": 10**6}).status_code == 404


def test_a_head_is_published_once_the_quorum_cosigned_it(
        witnessed: tuple[CompositionRoot, TestClient], tmp_path: Path, go_check: GoCheck) -> None:
    svc, client = witnessed
    head = grow(svc, "2010")
    summary = client.get("/api/v1/public/summary").json()
    assert summary["tree_head"] is None and summary["publication"] is None
    assert client.get("/api/v1/public/export").status_code == 404
    with pytest.raises(LookupError):
        export_public(svc, tmp_path / "export.jsonl")

    assert witness(NAMES[0], client, tmp_path / "w0.json").step().status == "cosigned"
    assert client.get("/api/v1/public/summary").json()["tree_head"] is None  # 1 of 2
    assert witness(NAMES[1], client, tmp_path / "w1.json").step().status == "cosigned"

    summary = client.get("/api/v1/public/summary").json()
    assert summary["tree_head"] == head
    publication = summary["publication"]
    assert [c["witness"] for c in publication["cosignatures"]] == sorted(NAMES[:2])
    note = client.get("/api/v1/audit/checkpoint").text
    assert publication["checkpoint"] == note
    for name in NAMES[:2]:
        checked = go_check("cosig", note=note, name=name,
                           public=base64.b64encode(cp.public_bytes(KEYS[name])).decode())
        assert checked["ok"], checked
    assert not go_check("cosig", note=note, name=NAMES[2],
                        public=base64.b64encode(cp.public_bytes(KEYS[NAMES[2]])).decode())["ok"]
    export = client.get("/api/v1/public/export")
    header = json.loads(export.text.split("\n", 1)[0])
    assert header["tree_head"] == head and header["publication"]["checkpoint"] == note
    assert client.get("/api/v1/audit/witnesses").json()["published"]["tree_size"] == head["tree_size"]
    assert "id=\"checkpoint\"" in client.get("/verify").text

    # A newer head is not published until the quorum cosigns it too.
    newer = grow(svc, "2011")
    assert client.get("/api/v1/public/summary").json()["tree_head"] == head
    assert witness(NAMES[2], client, tmp_path / "w2.json").step().status == "cosigned"
    assert witness(NAMES[0], client, tmp_path / "w0.json").step().status == "cosigned"
    assert client.get("/api/v1/public/summary").json()["tree_head"] == newer


def _cosigned(body: bytes, note: bytes, line: bytes) -> dict[str, str]:
    return {"note": cp.add_signatures(note, [line]).decode()}


def test_cosignatures_under_an_unknown_key_or_over_another_checkpoint_are_refused(
        witnessed: tuple[CompositionRoot, TestClient]) -> None:
    svc, client = witnessed
    head = grow(svc, "2010")
    note = client.get("/api/v1/audit/checkpoint").content
    body = cp.parse_note(note).body
    stranger = Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)
    cases = [
        # a stranger, and a stranger using a configured witness's name
        (cp.cosign(body, "stranger.example/w", stranger, 1), 403, "witness_unknown"),
        (cp.cosign(body, NAMES[0], stranger, 1), 403, "witness_unknown"),
        # a note signature (0x01) by a witness's key is not a cosignature (0x04)
        (cp.note_signature(body, NAMES[0], KEYS[NAMES[0]]), 403, "witness_unknown"),
    ]
    for line, status, code in cases:
        answer = client.post("/api/v1/audit/cosignatures", json=_cosigned(body, note, line))
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    # A good signature line over another checkpoint, moved onto ours, doesn't verify.
    other = cp.checkpoint_body(ORIGIN, head["tree_size"], bytes(32))
    moved = cp.cosign(other, NAMES[0], KEYS[NAMES[0]], 1)
    answer = client.post("/api/v1/audit/cosignatures", json=_cosigned(body, note, moved))
    assert (answer.status_code, answer.json()["code"]) == (422, "cosignature_invalid")
    # Checkpoints this ledger never signed: another root, another size, another origin.
    for fake in (other, cp.checkpoint_body(ORIGIN, head["tree_size"] + 5, bytes(32)),
                 cp.checkpoint_body("other.example/log", head["tree_size"],
                                    bytes.fromhex(head["root_hash"]))):
        fake_note = fake + b"\n" + cp.cosign(fake, NAMES[0], KEYS[NAMES[0]], 1)
        answer = client.post("/api/v1/audit/cosignatures", json={"note": fake_note.decode()})
        assert (answer.status_code, answer.json()["code"]) == (409, "checkpoint_unknown")
    answer = client.post("/api/v1/audit/cosignatures", json={"note": "not a note"})
    assert (answer.status_code, answer.json()["code"]) == (422, "cosignature_invalid")
    assert svc.db.query("SELECT * FROM cosignatures") == []
    # One good line with a bad one: nothing is stored.
    good = cp.cosign(body, NAMES[1], KEYS[NAMES[1]], 1)
    mixed = cp.add_signatures(note, [good, cp.cosign(body, NAMES[0], stranger, 1)])
    assert client.post("/api/v1/audit/cosignatures", json={"note": mixed.decode()}).status_code == 403
    assert svc.db.query("SELECT * FROM cosignatures") == []
    answer = client.post("/api/v1/audit/cosignatures", json=_cosigned(body, note, good))
    assert answer.status_code == 201 and answer.json()["accepted"] == [NAMES[1]]
    assert not answer.json()["published"]


class Switch(httpx.BaseTransport):
    """The ledger as a witness reaches it over the network: up, or down (connection refused)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.down, self.down_for_posts = inner, False, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down or (self.down_for_posts and request.method == "POST"):
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)


def test_a_witness_keeps_working_while_the_ledger_is_down_and_catches_up(
        witnessed: tuple[CompositionRoot, TestClient], tmp_path: Path) -> None:
    svc, client = witnessed
    switch = Switch(client._transport)
    with httpx.Client(transport=switch, base_url="http://testserver") as net:
        w = witness(NAMES[0], net, tmp_path / "w.json")
        # Up, but nothing signed yet: the witness waits, with no alarm and no state written.
        assert w.step().status == "waiting"
        assert not (tmp_path / "w.json").exists()
        grow(svc, "2010")
        switch.down = True
        assert w.step().status == "ledger_unavailable"
        assert w.cosigned is None and not (tmp_path / "w.json").exists()
        switch.down, switch.down_for_posts = False, True
        assert w.step().status == "ledger_unavailable"  # cosigned, kept, not yet delivered
        assert w.cosigned is not None and not w.state["delivered"]
        assert svc.db.query("SELECT * FROM cosignatures") == []
        restarted = witness(NAMES[0], net, tmp_path / "w.json")
        switch.down_for_posts = False
        assert restarted.step().status == "delivered"
        assert len(svc.db.query("SELECT * FROM cosignatures")) == 1
        assert restarted.step().status == "unchanged"


def test_a_forked_log_is_caught_and_a_restart_keeps_the_last_checkpoint(
        sqlite_url: str, tmp_path: Path) -> None:
    """Two histories from one prefix: the ledger's SQLite file copied after the prefix, then
    each copy given other events. The witness cosigns one; the other is refused, loudly."""
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a = build(settings(sqlite_url, a_dir))
    grow(a, "2010")
    a.close()
    b_dir.mkdir()
    b_url = f"sqlite:///{b_dir / 'ledger.db'}"
    shutil.copy(sqlite_url.removeprefix("sqlite:///"), b_dir / "ledger.db")
    a, b = build(settings(sqlite_url, a_dir)), build(settings(b_url, b_dir))
    try:
        with TestClient(create_app(services=a)) as ca, TestClient(create_app(services=b)) as cb:
            state = tmp_path / "witness" / "state.json"
            state.parent.mkdir()
            w = witness(NAMES[0], ca, state)
            assert w.step().status == "cosigned"
            prefix = w.cosigned
            assert prefix is not None
            grow(a, "2011")
            grow(b, "2012", "2013")  # as long or longer, another history
            assert w.step().status == "cosigned"
            seen = w.cosigned
            assert seen is not None and seen.size > prefix.size

            restarted = witness(NAMES[0], cb, state)  # the same witness, now shown B
            assert restarted.cosigned == seen  # the restart kept its last checkpoint
            result = restarted.step()
            assert result.status == "alarm" and "consistency" in result.detail
            assert restarted.alarm is not None
            record = Path(restarted.alarm["record"])
            text = record.read_text("utf-8")
            assert restarted.state["checkpoint"] in text  # A's, as signed by the log
            assert f"\n{seen.size}\n" in restarted.state["checkpoint"]
            assert cb.get("/api/v1/audit/checkpoint").text in text
            assert b.db.query("SELECT * FROM cosignatures") == []
            # The alarm survives a restart, and it cosigns nothing more, even A's next head.
            again = witness(NAMES[0], ca, state)
            grow(a, "2014")
            assert again.step().status == "alarm"
            assert again.cosigned == seen
    finally:
        a.close()
        b.close()


def test_a_rollback_is_refused_after_a_restart(
        witnessed: tuple[CompositionRoot, TestClient], tmp_path: Path) -> None:
    svc, client = witnessed
    grow(svc, "2010")
    state = tmp_path / "w.json"
    assert witness(NAMES[0], client, state).step().status == "cosigned"
    grow(svc, "2011")
    assert witness(NAMES[0], client, state).step().status == "cosigned"
    # A state file rewritten to a larger tree than the ledger has: the ledger "shrank".
    data = json.loads(state.read_text("utf-8"))
    w = witness(NAMES[0], client, state)
    assert w.cosigned is not None
    bigger = cp.checkpoint_body(ORIGIN, w.cosigned.size + 10, w.cosigned.root)
    data["checkpoint"] = cp.sign_note(bigger, ORIGIN, Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex(SIGNING_HEX))).decode()
    state.write_text(json.dumps(data), "utf-8")
    result = witness(NAMES[0], client, state).step()
    assert result.status == "alarm" and "shrank" in result.detail
    record = Path(json.loads(state.read_text("utf-8"))["alarm"]["record"]).read_text("utf-8")
    assert data["checkpoint"] in record and client.get("/api/v1/audit/checkpoint").text in record


def test_the_settings_refuse_a_quorum_beyond_the_witnesses(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="quorum"):
        Settings(data_dir=tmp_path, witness_quorum=1)
    with pytest.raises(ValueError, match="bad witness"):
        Settings(data_dir=tmp_path, witnesses="a b=" + "00" * 32)
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, checkpoint_origin="has space")


def test_audit_verify_checks_cosignatures_the_grace_period_and_a_trusted_head(
        witnessed: tuple[CompositionRoot, TestClient], tmp_path: Path) -> None:
    from ledger.audit import verify

    svc, client = witnessed
    kept_sth = json.dumps(grow(svc, "2010")).encode()
    kept_note = client.get("/api/v1/audit/checkpoint").content
    head = grow(svc, "2011")
    # Fresh events within the grace period, a kept head the log extends: all verified.
    assert verify(svc, trusted_head=kept_sth).problems == []
    assert verify(svc, trusted_head=kept_note).problems == []
    # Past the grace period without the quorum: refused, until two witnesses cosign.
    late = int(head["timestamp"]) + int(svc.settings.witness_grace_s * 1000) + 1
    assert any("waited more than" in p for p in verify(svc, now_ms=late).problems)
    for i in (0, 1):
        assert witness(NAMES[i], client, tmp_path / f"w{i}.json").step().status == "cosigned"
    assert verify(svc, now_ms=late).problems == []
    # A kept head this log does not extend (same key, another root), or one beyond the log.
    log_key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SIGNING_HEX))
    other = cp.sign_note(cp.checkpoint_body(ORIGIN, 2, bytes(32)), ORIGIN, log_key)
    assert any("not a prefix" in p for p in verify(svc, trusted_head=other).problems)
    beyond = cp.sign_note(cp.checkpoint_body(ORIGIN, 10**6, bytes(32)), ORIGIN, log_key)
    assert any("rolled back" in p for p in verify(svc, trusted_head=beyond).problems)
    stranger = cp.sign_note(cp.checkpoint_body(ORIGIN, 2, bytes(32)), ORIGIN,
                            Ed25519PrivateKey.from_private_bytes(b"\x05" * 32))
    assert any("not a head of this log" in p for p in verify(svc, trusted_head=stranger).problems)
    # A stored cosignature altered afterwards is caught.
    with svc.db.write() as cur:
        cur.execute("UPDATE cosignatures SET line = ? WHERE witness = ?",
                    (cp.cosign(cp.checkpoint_body(ORIGIN, 1, bytes(32)), NAMES[0],
                               KEYS[NAMES[0]], 1).decode(), NAMES[0]))
    problems = verify(svc).problems
    assert any(f"cosignature by {NAMES[0]} is invalid" in p for p in problems), problems


def test_the_offline_verifier_checks_the_witnesses_cosignatures(
        witnessed: tuple[CompositionRoot, TestClient], tmp_path: Path) -> None:
    """tools/verify_export.py, run as an outsider would: the quorum of the witnesses' keys the
    auditor trusts must have cosigned the exported head; a forged or missing one is caught."""
    from tests.integration.test_export import first_failure, verifier

    svc, client = witnessed
    grow(svc, "2010")
    for i, name in enumerate(NAMES[:2]):
        assert witness(name, client, tmp_path / f"w{i}.json").step().status == "cosigned"
    export = tmp_path / "public.jsonl"
    export.write_bytes(client.get("/api/v1/public/export").content)
    log_key = client.get("/api/v1/audit/public-key").json()["public_key"]
    trusted = [f"--witness={n}={cp.public_bytes(k).hex()}" for n, k in KEYS.items()]

    def check(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return verifier(path, "--public-key", log_key, *args, cwd=tmp_path)

    done = check(export, *trusted, "--quorum", "2")
    assert done.returncode == 0, done.stdout
    assert "cosigned by 2 of your 3 witnesses" in done.stdout
    assert "NOTE: the checkpoint carries cosignatures" in check(export).stdout  # not checked
    assert check(export, *trusted, "--quorum", "3").returncode == 1
    # Only keys the auditor gave count: a file cosigned by others doesn't reach the quorum.
    stranger = Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)
    own = f"--witness={NAMES[0]}={cp.public_bytes(stranger).hex()}"
    assert "FAILED" in check(export, own, "--quorum", "1").stdout
    # A cosignature changed in the file: caught, and named.
    lines = export.read_text("utf-8").split("\n")
    header = json.loads(lines[0])
    note = header["publication"]["checkpoint"]
    body, _, sigs = note.rpartition("\n\n")
    forged = [line[:-6] + ("AAAAAA" if not line.endswith("AAAAAA") else "BBBBBB")
              if NAMES[1] in line else line for line in sigs.split("\n")]
    header["publication"]["checkpoint"] = body + "\n\n" + "\n".join(forged)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([json.dumps(header, ensure_ascii=False), *lines[1:]]), "utf-8")
    done = check(tampered, *trusted, "--quorum", "2")
    assert done.returncode == 1
    assert f"the cosignature of {NAMES[1]} does not verify" in first_failure(done.stdout)
