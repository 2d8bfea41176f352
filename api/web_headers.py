"""What a real public site sends with every answer: security headers, a strict
Content-Security-Policy, and ETags so that a repeated visit costs a 304. Pure ASGI middleware (a
Starlette BaseHTTPMiddleware would run every request in an extra task)."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access import needs_token

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
       " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
       " frame-ancestors 'none'")
SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
SECURE = [*SECURITY, (b"content-security-policy", CSP.encode())]
# Answers that are the same for everyone: these get an ETag (and a 304 when it matches).
PUBLIC_PREFIXES = ("/api/v1/public/", "/api/v1/areas", "/api/v1/funds", "/api/v1/categories",
                   "/api/v1/audit/tree-head", "/api/v1/audit/public-key")
PUBLIC_PAGES = ("/donations", "/follow", "/needs", "/districts/", "/communes/", "/verify", "/static/")
MAX_BUFFERED = 4 * 1024 * 1024
# Staff and audit answers (children's decrypted data among them) are kept by no cache, shared or
# private: whatever the route set, it is replaced.
NO_STORE = (b"cache-control", b"no-store")


def _public(path: str) -> bool:
    # A CSV download streams: it is not held back to be hashed.
    return path == "/" or (path.startswith(PUBLIC_PREFIXES + PUBLIC_PAGES) and not path.endswith(".csv"))


class WebHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        secure = SECURE
        if needs_token(path):
            await self.app(scope, receive,
                           self._adding(scope, send, [*secure, NO_STORE], replace=b"cache-control"))
            return
        if scope["method"] not in ("GET", "HEAD") or not _public(path):
            await self.app(scope, receive, self._adding(scope, send, secure))
            return
        wanted = dict(scope["headers"]).get(b"if-none-match")
        await self.app(scope, receive, _ETagging(scope, send, secure, wanted))

    @staticmethod
    def _adding(scope: Scope, send: Send, extra: list[tuple[bytes, bytes]],
                replace: bytes | None = None) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != replace]
                message = {**message, "headers": [*kept, *extra, *_read_from(scope)]}
            await send(message)

        return sending


def _read_from(scope: Scope) -> list[tuple[bytes, bytes]]:
    """`X-Read-From` for an answer `api.replica.read_replica` routed (set while the request ran,
    so read when the answer starts; a page is a Response of its own, which a dependency's
    headers don't reach)."""
    served_by = scope.get("state", {}).get("read_from")
    return [(b"x-read-from", served_by.encode())] if served_by else []


class _ETagging:
    """Holds a 200 answer back until its body is complete, then sends it with a strong ETag of the
    body, or a 304 with no body when the client already has it. Streams and big bodies pass."""

    def __init__(self, scope: Scope, send: Send, extra: list[tuple[bytes, bytes]],
                 wanted: bytes | None) -> None:
        self.scope, self.send, self.extra, self.wanted = scope, send, extra, wanted
        self.start: dict[str, Any] | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.passing = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), *self.extra, *_read_from(self.scope)]
            names = {k.lower() for k, _ in headers}
            if message["status"] != 200 or b"etag" in names:
                self.passing = True
                await self.send({**message, "headers": headers})
                return
            self.start = {**message, "headers": headers}
            return
        if self.passing or message["type"] != "http.response.body":
            await self.send(message)
            return
        assert self.start is not None
        self.chunks.append(message.get("body", b""))
        self.size += len(self.chunks[-1])
        if message.get("more_body", False) and self.size <= MAX_BUFFERED:
            return
        if message.get("more_body", False):  # too big to hold: send as it comes, without an ETag
            self.passing = True
            await self.send(self.start)
            await self.send({"type": "http.response.body", "body": b"".join(self.chunks), "more_body": True})
            return
        body = b"".join(self.chunks)
        etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        headers = [(k, v) for k, v in self.start["headers"] if k.lower() != b"content-length"]
        headers.append((b"etag", etag))
        if self.wanted is not None and etag in [w.strip() for w in self.wanted.split(b",")]:
            keep = {b"etag", b"cache-control", b"vary", b"x-read-from", *(k for k, _ in self.extra)}
            await self.send({"type": "http.response.start", "status": 304,
                             "headers": [(k, v) for k, v in headers if k.lower() in keep]})
            await self.send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})
