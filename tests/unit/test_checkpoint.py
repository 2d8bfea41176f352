"""C2SP signed notes, checkpoints and cosignatures (domain/checkpoint.py)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from domain import checkpoint as cp

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUB = cp.public_bytes(KEY)
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
WPUB = cp.public_bytes(WITNESS)
ORIGIN = "example.com/log"

names = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters="+"),
                min_size=1, max_size=30).filter(lambda s: not any(c.isspace() for c in s))
lines = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x10FFFF,
                              exclude_categories=("Cs",)), min_size=1, max_size=40)


def test_the_spec_example_body() -> None:
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.checkpoint_body("example.com/behind-the-sofa", 20852163, root) == (
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")


def test_the_cosignature_message_as_the_spec_shows_it() -> None:
    body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cp.cosignature_message(body, 1679315147) == b"cosignature/v1\ntime 1679315147\n" + body


def test_the_spec_example_cosignature_line_parses_with_a_timestamp() -> None:
    # tlog-cosignature's example: key id, then the 8-byte timestamp 0x6418 50cb = 1679315147.
    note = ("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
            "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
            "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
            "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
            "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n").encode()
    parsed = cp.parse_note(note)
    assert [s.name for s in parsed.signatures] == ["example.com/behind-the-sofa",
                                                   "witness.example.com/w1"]
    cosig = parsed.signatures[1]
    assert len(cosig.signature) == 72
    assert int.from_bytes(cosig.signature[:8], "big") == 1679315147
    assert cp.parse_checkpoint(parsed.body).size == 20852163


@given(origin=names, size=st.integers(0, (1 << 63) - 1), root=st.binary(min_size=32, max_size=32),
       extensions=st.lists(lines, max_size=3), timestamp=st.integers(0, (1 << 63) - 1))
def test_round_trip(origin: str, size: int, root: bytes, extensions: list[str],
                    timestamp: int) -> None:
    body = cp.checkpoint_body(origin, size, root, extensions)
    assert cp.parse_checkpoint(body) == cp.Checkpoint(origin, size, root, tuple(extensions))
    note = cp.sign_note(body, origin, KEY)
    assert cp.verify_note(note, origin, PUB).body == body
    line = cp.cosign(body, "w.example/1", WITNESS, timestamp)
    full = cp.add_signatures(note, [line, line])
    parsed = cp.verify_note(full, origin, PUB)
    assert len(parsed.signatures) == 2  # the duplicate is dropped
    assert cp.verify_cosignature(parsed.body, parsed.signatures[1], "w.example/1", WPUB) == timestamp
    assert cp.verify_cosignature(body, line, "w.example/1", WPUB) == timestamp


@given(flip=st.integers(0, 10_000))
def test_any_changed_byte_breaks_the_note(flip: int) -> None:
    body = cp.checkpoint_body(ORIGIN, 7, bytes(32))
    note = bytearray(cp.sign_note(body, ORIGIN, KEY))
    at = flip % len(note)
    note[at] ^= 0x01
    with pytest.raises(cp.NoteError):
        cp.verify_note(bytes(note), ORIGIN, PUB)


def test_a_cosignature_over_another_checkpoint_or_by_another_key_is_refused() -> None:
    body = cp.checkpoint_body(ORIGIN, 7, bytes(32))
    other = cp.checkpoint_body(ORIGIN, 8, bytes(32))
    line = cp.cosign(body, "w.example/1", WITNESS, 1_700_000_000)
    with pytest.raises(cp.NoteError, match="does not verify"):
        cp.verify_cosignature(other, line, "w.example/1", WPUB)
    with pytest.raises(cp.NoteError, match="not by this witness"):
        cp.verify_cosignature(body, line, "w.example/1", PUB)
    with pytest.raises(cp.NoteError, match="not by this witness"):
        cp.verify_cosignature(body, line, "w.example/2", WPUB)
    # A note signature (0x01) by the same key is not a cosignature (0x04): different key id.
    with pytest.raises(cp.NoteError, match="not by this witness"):
        cp.verify_cosignature(body, cp.note_signature(body, "w.example/1", WITNESS),
                              "w.example/1", WPUB)


def test_a_known_key_whose_signature_fails_rejects_the_note() -> None:
    body = cp.checkpoint_body(ORIGIN, 7, bytes(32))
    good = cp.note_signature(body, ORIGIN, KEY)
    bad = cp.Signature(ORIGIN, cp.note_key_id(ORIGIN, PUB), bytes(64)).line()
    with pytest.raises(cp.NoteError, match="does not verify"):
        cp.verify_note(body + b"\n" + good + bad, ORIGIN, PUB)
    # An unknown key's signature is ignored.
    stranger = cp.note_signature(body, "other.example", WITNESS)
    assert cp.verify_note(body + b"\n" + good + stranger, ORIGIN, PUB).body == body


@pytest.mark.parametrize("body", [
    b"o\n1\n", b"o\n01\n" + base64.b64encode(bytes(32)) + b"\n", b"o\n1\nAAAA\n",
    b"o\n-1\n" + base64.b64encode(bytes(32)) + b"\n", b"o\n1\n" + base64.b64encode(bytes(32)),
    b"o\n1\n" + base64.b64encode(bytes(32)) + b"\n\n", b"o\x01\n1\n" + base64.b64encode(bytes(32)) + b"\n",
])
def test_malformed_checkpoints_are_refused(body: bytes) -> None:
    with pytest.raises(cp.NoteError):
        cp.parse_checkpoint(body)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(cp.NoteError):
        cp.key_id(name, cp.ALG_ED25519, PUB)


def test_the_verifier_key_text() -> None:
    vkey = cp.verifier_key(ORIGIN, PUB)
    name, kid, material = vkey.split("+", 2)
    assert name == ORIGIN and bytes.fromhex(kid) == cp.note_key_id(ORIGIN, PUB)
    assert base64.b64decode(material) == b"\x01" + PUB
