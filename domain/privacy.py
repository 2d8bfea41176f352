"""Field-level encryption of children's personal data (DESIGN §6).

Each child has its own AES-256-GCM key; the key is wrapped by the service key and kept
outside the log, so deleting it (crypto-shredding) makes the sealed fields unreadable while
every event, hash and amount stays intact. Pure functions: keys come in as bytes.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PERSONAL_FIELDS = ("full_name", "birth_year", "sex", "ethnicity", "guardian_name", "circumstances")
_NONCE_BYTES = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode("ascii")


def _open(key: bytes, sealed: str, aad: bytes) -> bytes:
    raw = base64.b64decode(sealed)
    return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad)


def wrap_key(service_key: bytes, child_key: bytes, child_id: str) -> str:
    return _seal(service_key, child_key, b"child-key:" + child_id.encode())


def unwrap_key(service_key: bytes, wrapped: str, child_id: str) -> bytes:
    return _open(service_key, wrapped, b"child-key:" + child_id.encode())


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
