"""Our C2SP encodings read by Go's golang.org/x/mod/sumdb/note and sumdb/tlog (not ours)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import checkpoint as cp
from domain.merkle import MemoryTree
from tests.go_check import GoCheck

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUB = cp.public_bytes(KEY)
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(7, 39)))
GO_ORIGIN = "go.sum database tree"  # the origin tlog.ParseTree insists on


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def test_go_opens_our_checkpoint_and_reads_its_tree(go_check: GoCheck) -> None:
    tree = MemoryTree.from_data([f"leaf {i}".encode() for i in range(13)])
    body = cp.checkpoint_body(GO_ORIGIN, 13, tree.root())
    assert go_check("tree", size=13, root=b64(tree.root()))["text"] == body.decode()
    # A key name has no spaces, so here it differs from the origin (the spec allows it).
    note = cp.sign_note(body, "sum.example", KEY)
    answer = go_check("open", note=note.decode(), vkeys=[cp.verifier_key("sum.example", PUB)])
    assert answer["ok"], answer
    assert answer["text"] == body.decode() and answer["verified"] == ["sum.example"]
    assert answer["size"] == 13 and answer["root"] == b64(tree.root())


def test_go_signs_the_same_bytes_as_we_do(go_check: GoCheck) -> None:
    origin = "minhbach.langson.gov.vn/log"
    body = cp.checkpoint_body(origin, 5, bytes(range(32)))
    kid = cp.note_key_id(origin, PUB).hex()
    seed = KEY.private_bytes_raw()
    material = b64(bytes([cp.ALG_ED25519]) + seed)
    skey = f"PRIVATE+KEY+{origin}+{kid}+{material}"
    answer = go_check("sign", skey=skey, text=body.decode())
    assert answer["ok"], answer
    assert answer["note"].encode() == cp.sign_note(body, origin, KEY)


def test_go_refuses_a_tampered_checkpoint(go_check: GoCheck) -> None:
    origin = "minhbach.langson.gov.vn/log"
    note = cp.sign_note(cp.checkpoint_body(origin, 5, bytes(32)), origin, KEY).decode()
    forged = note.replace("\n5\n", "\n6\n", 1)
    answer = go_check("open", note=forged, vkeys=[cp.verifier_key(origin, PUB)])
    assert not answer["ok"] and "invalid signature" in answer["error"]


def test_go_checks_our_consistency_proofs(go_check: GoCheck) -> None:
    tree = MemoryTree.from_data([f"event {i}".encode() for i in range(40)])
    for old, new in [(1, 2), (3, 7), (8, 8), (13, 40), (32, 40), (39, 40)]:
        proof = tree.consistency_proof(old, new)
        answer = go_check("consistency", old=old, old_root=b64(tree.root(old)), size=new,
                          root=b64(tree.root(new)), proof=[b64(h) for h in proof])
        assert answer["ok"], (old, new, answer)
    other = MemoryTree.from_data([f"other {i}".encode() for i in range(40)])
    answer = go_check("consistency", old=13, old_root=b64(other.root(13)), size=40,
                      root=b64(tree.root(40)), proof=[b64(h) for h in tree.consistency_proof(13, 40)])
    assert not answer["ok"]


def test_a_cosigned_checkpoint_opens_in_go_and_its_cosignature_verifies(go_check: GoCheck) -> None:
    origin = "minhbach.langson.gov.vn/log"
    body = cp.checkpoint_body(origin, 21, bytes(range(32)))
    note = cp.add_signatures(cp.sign_note(body, origin, KEY),
                             [cp.cosign(body, "mttq.langson.vn/witness", WITNESS, 1_764_000_000)])
    opened = go_check("open", note=note.decode(), vkeys=[cp.verifier_key(origin, PUB)])
    # x/mod 0.7 has no 0x04 verifier: it keeps the cosignature as an unverified signature.
    assert opened["ok"] and opened["unknown"] == ["mttq.langson.vn/witness"], opened
    checked = go_check("cosig", note=note.decode(), name="mttq.langson.vn/witness",
                       public=b64(cp.public_bytes(WITNESS)))
    assert checked["ok"] and checked["timestamp"] == 1_764_000_000, checked
    forged = note.decode().replace("\n21\n", "\n22\n", 1)
    assert not go_check("cosig", note=forged, name="mttq.langson.vn/witness",
                        public=b64(cp.public_bytes(WITNESS)))["ok"]
