"""Field-level encryption of children's and donors' personal data (DESIGN §6).

Each child and each donor has its own AES-256-GCM key; the key is wrapped by the service key and kept
outside the log, so deleting it (crypto-shredding) makes the sealed fields unreadable while
every event, hash and amount stays intact. Pure functions: keys come in as bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PERSONAL_FIELDS = ("full_name", "birth_year", "sex", "ethnicity", "guardian_name", "circumstances")
DONOR_FIELDS = ("name", "contact")
CHILD_KEY = "child-key"
DONOR_KEY = "donor-key"
_NONCE_BYTES = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode("ascii")


def _open(key: bytes, sealed: str, aad: bytes) -> bytes:
    raw = base64.b64decode(sealed)
    return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)


def wrap_key(service_key: bytes, child_key: bytes, child_id: str, purpose: str = CHILD_KEY) -> str:
    """The purpose is bound in: a child's wrapped key can't pass for a donor's, nor the reverse."""
    return _seal(service_key, child_key, f"{purpose}:{child_id}".encode())


def unwrap_key(service_key: bytes, wrapped: str, child_id: str, purpose: str = CHILD_KEY) -> bytes:
    return _open(service_key, wrapped, f"{purpose}:{child_id}".encode())


def derive_key(service_key: bytes, purpose: str) -> bytes:
    """A secret for one purpose, from the service key (HMAC-SHA256 as a PRF): one secret to keep,
    and a digest made for one purpose is worthless for another."""
    return hmac.new(service_key, f"minhbach:{purpose}".encode(), hashlib.sha256).digest()


def keyed_digest(key: bytes, data: bytes) -> str:
    """Hex HMAC-SHA256: a digest of personal data nobody can recompute by guessing the data."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal_fields(child_key: bytes, child_id: str, fields: dict[str, Any]) -> dict[str, str]:
    """Each present personal field sealed on its own, bound to the child and the field name."""
    return {
        name: _seal(child_key, json.dumps(value, ensure_ascii=False).encode(), f"{child_id}:{name}".encode())
        for name, value in fields.items()
        if value is not None
    }


def open_fields(child_key: bytes, child_id: str, sealed: dict[str, str]) -> dict[str, Any]:
    return {
        name: json.loads(_open(child_key, value, f"{child_id}:{name}".encode()))
        for name, value in sealed.items()
    }
