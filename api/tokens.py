"""Bearer tokens: shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from projections.db import Database

ROLES = ("admin", "finance", "district", "auditor")


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    district: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Database, *, name: str, role: str, district: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "district") != bool(district):
        raise ValueError("a district token needs --district, and only a district token takes it")
    token = "mb_" + secrets.token_urlsafe(32)
    with db.write() as cur:
        cur.execute(
            "INSERT INTO api_tokens (name, role, district, token_hash, created_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT (name) DO UPDATE SET role = excluded.role, district = excluded.district,"
            " token_hash = excluded.token_hash, created_at = excluded.created_at",
            (name, role, district, _hash(token), datetime.now(UTC).isoformat()),
        )
    return token


CACHE_TTL_S = 10.0
_cache: dict[str, tuple[float, Principal | None]] = {}


def cached_principal(token: str) -> Principal | None:
    """The cached answer for this token, if it is fresh: no IO, so the event loop may call it."""
    hit = _cache.get(_hash(token))
    if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S and hit[1] is not None:
        return hit[1]
    return None


def find_principal(db: Database, token: str) -> Principal | None:
    """Who holds this token. Answers are kept a few seconds: one lookup per token, not per request."""
    cached = cached_principal(token)
    if cached is not None:
        return cached
    key = _hash(token)
    row = db.query_one("SELECT name, role, district FROM api_tokens WHERE token_hash = ?", (key,))
    found = Principal(row["name"], row["role"], row["district"]) if row else None
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (time.monotonic(), found)
    return found
