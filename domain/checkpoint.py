"""C2SP checkpoints, signed notes and cosignatures (DESIGN §5). Pure, no IO.

Specs followed (C2SP/C2SP): ``signed-note`` v1.0.0, ``tlog-checkpoint`` v1.0.0,
``tlog-cosignature`` (the Ed25519 ``cosignature/v1`` type). The public functions below are a
stable interface: the tlog-tiles writer imports them too.

- A checkpoint *body* (the note text) is ``<origin>\\n<tree size>\\n<base64 root>\\n`` followed
  by optional non-empty extension lines (we publish none).
- A *note* is the body, an empty line, then signature lines ``— <name> base64(key id ‖ sig)\\n``.
- The log signs with an Ed25519 note signature (type ``0x01``): the signature is over the
  body; key id = ``SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]``. Its name is the origin.
- A witness cosigns with type ``0x04``: key id = ``SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]``,
  signature bytes = ``u64 big-endian timestamp ‖ Ed25519 signature`` over
  ``cosignature/v1\\ntime <timestamp>\\n`` followed by the body (POSIX seconds).

Keys: private keys are ``cryptography``'s ``Ed25519PrivateKey``; public keys are the 32 raw bytes.
Parsers and verifiers take untrusted input; they raise :class:`NoteError` (a ``ValueError``)
on anything malformed or unverifiable, never another exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "DEFAULT_ORIGIN",
    "MAX_SIGNATURES",
    "Checkpoint",
    "Note",
    "NoteError",
    "Signature",
    "add_signatures",
    "checkpoint_body",
    "cosign",
    "cosignature_key_id",
    "cosignature_message",
    "key_id",
    "note_key_id",
    "note_signature",
    "parse_checkpoint",
    "parse_note",
    "public_bytes",
    "sign_note",
    "signature_line",
    "verifier_key",
    "verify_cosignature",
    "verify_note",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
DEFAULT_ORIGIN = "minhbach.langson.gov.vn/log"
# signed-note: verifiers MUST accept at least 16 signatures; a bound keeps parsing cheap.
MAX_SIGNATURES = 64
MAX_NOTE_BYTES = 1 << 16
HASH_SIZE = 32
EM_DASH = "\u2014"
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


class NoteError(ValueError):
    """A note, checkpoint or signature that is malformed or doesn't verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> bytes:
        return checkpoint_body(self.origin, self.size, self.root, self.extensions)


@dataclass(frozen=True)
class Signature:
    """One signature line: the key name, the 4-byte key id and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> bytes:
        return signature_line(self.name, self.key_id, self.signature)


@dataclass(frozen=True)
class Note:
    body: bytes
    signatures: tuple[Signature, ...]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name) or _has_control(name):
        raise NoteError(f"bad key name {name!r}: non-empty, no spaces, no '+'")


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 and c != "\n" for c in text)


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of a private key's public key."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def checkpoint_body(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> bytes:
    """The checkpoint note text: origin, decimal size, base64 root, extension lines; each ends in \\n."""
    if not origin or "\n" in origin or _has_control(origin):
        raise NoteError("the origin must be one non-empty line")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0 or size >= 1 << 63:
        raise NoteError("the tree size must be an integer 0 … 2^63 − 1")
    if len(root) != HASH_SIZE:
        raise NoteError("the root hash must be 32 bytes")
    for ext in extensions:
        if not ext or "\n" in ext or _has_control(ext):
            raise NoteError("extension lines must be non-empty single lines")
    lines = [origin, str(size), base64.b64encode(root).decode("ascii"), *extensions]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _b64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise NoteError(f"{what} is not base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def parse_checkpoint(body: bytes) -> Checkpoint:
    """Read a checkpoint note text (without signatures); strict, as `checkpoint_body` writes it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("a checkpoint is UTF-8") from exc
    if not text.endswith("\n") or _has_control(text):
        raise NoteError("a checkpoint is newline-terminated lines without control characters")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("a checkpoint has at least three non-empty lines")
    origin, size_text, root_text, *extensions = lines
    if not _SIZE.fullmatch(size_text) or int(size_text) >= 1 << 63:
        raise NoteError("bad tree size line")
    root = _b64(root_text, "the root hash")
    if len(root) != HASH_SIZE:
        raise NoteError("the root hash must be 32 bytes")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """``SHA-256(name ‖ 0x0A ‖ alg ‖ public key)[:4]`` (signed-note's recommended key id)."""
    _check_name(name)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()[:4]


def note_key_id(name: str, public_key: bytes) -> bytes:
    """The key id of an Ed25519 note signature (type 0x01), e.g. the log's own."""
    return key_id(name, ALG_ED25519, public_key)


def cosignature_key_id(name: str, public_key: bytes) -> bytes:
    """The key id of an Ed25519 cosignature/v1 (type 0x04), a witness's."""
    return key_id(name, ALG_COSIGNATURE_V1, public_key)


def verifier_key(name: str, public_key: bytes, alg: int = ALG_ED25519) -> str:
    """The signed-note *vkey* text ``<name>+<hex key id>+<base64(alg ‖ public key)>``."""
    kid = key_id(name, alg, public_key)
    return f"{name}+{kid.hex()}+{base64.b64encode(bytes([alg]) + public_key).decode('ascii')}"


def signature_line(name: str, kid: bytes, signature: bytes) -> bytes:
    _check_name(name)
    if len(kid) != 4:
        raise NoteError("a key id is 4 bytes")
    return f"{EM_DASH} {name} {base64.b64encode(kid + signature).decode('ascii')}\n".encode()


def note_signature(body: bytes, name: str, key: Ed25519PrivateKey) -> bytes:
    """The log's signature line (Ed25519, type 0x01) over a note text."""
    return signature_line(name, note_key_id(name, public_bytes(key)), key.sign(body))


def sign_note(body: bytes, name: str, key: Ed25519PrivateKey) -> bytes:
    """The whole signed note: body, empty line, one Ed25519 signature line."""
    _check_body(body)
    return body + b"\n" + note_signature(body, name, key)


def add_signatures(note: bytes, lines: Sequence[bytes]) -> bytes:
    """A note with more signature lines (e.g. cosignatures) after its own, duplicates dropped."""
    have = {s.line() for s in parse_note(note).signatures}
    extra: list[bytes] = []
    for line in lines:
        canonical = _parse_signature_line(_line_text(line)).line()
        if canonical not in have:
            have.add(canonical)
            extra.append(canonical)
    return note + b"".join(extra)


def _check_body(body: bytes) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("a note is UTF-8") from exc
    if not text.endswith("\n") or _has_control(text):
        raise NoteError("a note text ends in a newline and holds no control characters")


def _parse_signature_line(line: str) -> Signature:
    prefix = EM_DASH + " "
    if not line.startswith(prefix):
        raise NoteError("a signature line starts with an em dash and a space")
    parts = line[len(prefix):].split(" ")
    if len(parts) != 2:
        raise NoteError("a signature line is '— <name> <base64>'")
    name, b64 = parts
    _check_name(name)
    raw = _b64(b64, "a signature")
    if len(raw) < 5:
        raise NoteError("a signature is a key id and at least one byte")
    return Signature(name, raw[:4], raw[4:])


def parse_note(note: bytes) -> Note:
    """Split a signed note into its text and signature lines; nothing is verified here."""
    if len(note) > MAX_NOTE_BYTES:
        raise NoteError("note too large")
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("a note is UTF-8") from exc
    if _has_control(text) or not text.endswith("\n"):
        raise NoteError("a note ends in a newline and holds no control characters")
    # The text is separated from the signatures by the LAST empty line.
    cut = text.rfind("\n\n")
    if cut < 0:
        raise NoteError("a note has an empty line before its signatures")
    body, sig_text = text[:cut + 1], text[cut + 2:]
    lines = sig_text[:-1].split("\n") if sig_text else []
    if not lines:
        raise NoteError("a note has at least one signature")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too many signatures")
    return Note(body.encode("utf-8"), tuple(_parse_signature_line(line) for line in lines))


def _ed25519_ok(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_note(note: bytes, name: str, public_key: bytes) -> Note:
    """Check the note carries a valid Ed25519 (0x01) signature by (name, key); the parsed note.

    Other keys' signatures (cosignatures included) are ignored, as the spec requires; a
    signature that matches the name and key id but fails to verify rejects the note.
    """
    parsed = parse_note(note)
    kid = note_key_id(name, public_key)
    mine = [s for s in parsed.signatures if s.name == name and s.key_id == kid]
    if not mine:
        raise NoteError(f"no signature by {name} with key id {kid.hex()}")
    if not all(_ed25519_ok(public_key, s.signature, parsed.body) for s in mine):
        raise NoteError(f"a signature by {name} does not verify")
    return parsed


def cosignature_message(body: bytes, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the whole checkpoint body."""
    if isinstance(timestamp, bool) or not 0 <= timestamp < 1 << 63:
        raise NoteError("a cosignature timestamp is 0 … 2^63 − 1")
    return b"cosignature/v1\ntime " + str(timestamp).encode("ascii") + b"\n" + body


def cosign(body: bytes, name: str, key: Ed25519PrivateKey, timestamp: int) -> bytes:
    """A witness's cosignature/v1 line over a checkpoint body, timestamped in POSIX seconds."""
    _check_body(body)
    signed = key.sign(cosignature_message(body, timestamp))
    return signature_line(name, cosignature_key_id(name, public_bytes(key)),
                          timestamp.to_bytes(8, "big") + signed)


def verify_cosignature(body: bytes, signature: Signature | bytes, name: str,
                       public_key: bytes) -> int:
    """Verify one cosignature (a `Signature` or a signature line) by (name, key); its timestamp."""
    sig = signature if isinstance(signature, Signature) else _parse_signature_line(
        _line_text(signature))
    if sig.name != name or sig.key_id != cosignature_key_id(name, public_key):
        raise NoteError("the cosignature is not by this witness key")
    if len(sig.signature) != 8 + 64:
        raise NoteError("a cosignature is an 8-byte timestamp and a 64-byte signature")
    timestamp = int.from_bytes(sig.signature[:8], "big")
    if timestamp >= 1 << 63:
        raise NoteError("a cosignature timestamp is below 2^63")
    if not _ed25519_ok(public_key, sig.signature[8:], cosignature_message(body, timestamp)):
        raise NoteError("the cosignature does not verify")
    return timestamp


def _line_text(line: bytes) -> str:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("a signature line is UTF-8") from exc
    if text.endswith("\n"):
        text = text[:-1]
    if "\n" in text:
        raise NoteError("one signature line expected")
    return text
