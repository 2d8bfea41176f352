"""Bearer tokens: shown once, stored only as a SHA-256 hash; they may expire and be revoked.

Every request looks its token up (one indexed read): there is no in-process cache of who holds a
token, so a revocation is refused at once by every process that serves, not after a cache's TTL.
The time of last use is written at most once a minute per token and process, so that it costs
one small write a minute, not one per request.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from projections.db import Database

ROLES = ("admin", "finance", "district", "auditor")
TOUCH_EVERY_S = 60.0
_DURATION = re.compile(r"(\d{1,6})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
log = logging.getLogger("minhbach.tokens")


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    district: str | None


@dataclass(frozen=True)
class TokenInfo:
    """What `token list` shows: never the token nor its hash."""

    name: str
    role: str
    district: str | None
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class TokenRefused(Exception):
    """A token that is not (or no longer) valid; `reason` is said to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `2w`, `45s`."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30d, 12h, 90m, 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def create_token(db: Database, *, name: str, role: str, district: str | None = None,
                 expires_in: timedelta | None = None) -> str:
    """A new token for `name`; one that name held before stops working at once."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "district") != bool(district):
        raise ValueError("a district token needs --district, and only a district token takes it")
    token = "mb_" + secrets.token_urlsafe(32)
    now = _now()
    expires = (now + expires_in).isoformat() if expires_in is not None else None
    with db.write() as cur:
        cur.execute(
            "INSERT INTO api_tokens (name, role, district, token_hash, created_at, expires_at)"
            " VALUES (?,?,?,?,?,?)"
            " ON CONFLICT (name) DO UPDATE SET role = excluded.role, district = excluded.district,"
            " token_hash = excluded.token_hash, created_at = excluded.created_at,"
            " expires_at = excluded.expires_at, last_used_at = NULL, revoked_at = NULL",
            (name, role, district, _hash(token), now.isoformat(), expires),
        )
    return token


def revoke_token(db: Database, name: str) -> bool:
    """Revoke `name`'s token; False when there is no token of that name. Revoking twice is a no-op
    that keeps the first time."""
    with db.write() as cur:
        row = cur.execute("SELECT revoked_at FROM api_tokens WHERE name = ?", (name,)).fetchone()
        if row is None:
            return False
        if row["revoked_at"] is None:
            cur.execute("UPDATE api_tokens SET revoked_at = ? WHERE name = ?",
                        (_now().isoformat(), name))
    return True


def list_tokens(db: Database) -> list[TokenInfo]:
    rows = db.query("SELECT name, role, district, created_at, expires_at, last_used_at, revoked_at"
                    " FROM api_tokens ORDER BY name")
    return [TokenInfo(**r) for r in rows]


class _Touches:
    """When this process last wrote each token's last use (monotonic seconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at: dict[str, float] = {}

    def due(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            if now - self.at.get(key, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
                return False
            if len(self.at) > 10_000:  # names are few; this only bounds a pathological case
                self.at.clear()
            self.at[key] = now
            return True


_touches = _Touches()


def check_token(db: Database, token: str) -> Principal:
    """Who holds this token, or TokenRefused saying why not (unknown, revoked, expired)."""
    key = _hash(token)
    row = db.query_one("SELECT name, role, district, expires_at, revoked_at FROM api_tokens"
                       " WHERE token_hash = ?", (key,))
    if row is None:
        raise TokenRefused("this token is not valid")
    if row["revoked_at"] is not None:
        raise TokenRefused("this token has been revoked")
    now = _now()
    if row["expires_at"] is not None and datetime.fromisoformat(row["expires_at"]) <= now:
        raise TokenRefused("this token has expired")
    if _touches.due(key):
        try:
            with db.write() as cur:
                cur.execute("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?",
                            (now.isoformat(), key))
        except Exception:
            # A busy database must not refuse a valid caller for a bookkeeping field.
            log.exception("could not record the last use of token %r", row["name"])
    return Principal(row["name"], row["role"], row["district"])


def find_principal(db: Database, token: str) -> Principal | None:
    """Who holds this token, or None when it is unknown, revoked or expired."""
    try:
        return check_token(db, token)
    except TokenRefused:
        return None
