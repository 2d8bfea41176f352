"""Abuse limits in front of the routes, as pure ASGI middleware (issue 9 item 4):

- a request that needs a token and carries a body has its token checked before one byte of the
  body is read: a stranger's 10 MB upload is refused 401 unread;
- bodies are counted as they arrive and cut off at the limit with 413 `payload_too_large`
  (Content-Length is only a hint: a chunked body has none, and a client may lie);
- rate limits per client IP (the `limits` package, in-memory moving windows): on the public
  search, and on refused tokens (after N in a window every request that needs a token gets 429
  `rate_limited` with Retry-After until the window has room again).

Limits are per process: with several workers a client gets up to N per worker, which is still a
bound. Each refusal is logged (path and client, never a body or a token) and counted in /metrics
by status, since the metrics middleware sits outside this one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.tokens import TokenRefused, check_token
from api.access import PRINCIPAL_STATE, PUBLIC_SEARCH, needs_token
from api.problems import ProblemResponse, problem_body
from ledger.settings import Settings
from projections.db import Database

log = logging.getLogger("minhbach.limits")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _TooLarge(Exception):
    """Raised from receive() once the body passes the limit: the 413 is already sent."""


def problem(path: str, status: int, code: str, title: str, detail: str,
            headers: dict[str, str] | None = None) -> JSONResponse:
    """api.problems.problem_response without a Request (this runs before there is one)."""
    return ProblemResponse(problem_body(path, status, code, title, detail), status_code=status,
                           headers=headers)


def _unauthorized(path: str, title: str, detail: str) -> JSONResponse:
    return problem(path, 401, "unauthorized", title, detail, {"WWW-Authenticate": "Bearer"})


class _Rates:
    def __init__(self, settings: Settings) -> None:
        self.on = settings.rate_limits
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.search: RateLimitItem = parse(settings.public_search_rate)
        self.failed_auth: RateLimitItem = parse(settings.failed_auth_rate)

    def retry_after(self, item: RateLimitItem, client: str) -> str:
        reset = self.limiter.get_window_stats(item, client).reset_time
        return str(max(1, math.ceil(reset - time.time())))


class RequestLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._rates: _Rates | None = None

    def _setup(self, scope: Scope) -> tuple[Settings, Database, _Rates]:
        # The services exist only once the lifespan has run: read them on the first request.
        svc: Any = scope["app"].state.services
        if self._rates is None:
            self._rates = _Rates(svc.settings)
        return svc.settings, svc.db, self._rates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings, db, rates = self._setup(scope)
        path: str = scope["path"]
        client = scope["client"][0] if scope.get("client") else "unknown"
        headers = dict(scope["headers"])
        protected = needs_token(path)

        if rates.on and protected and not rates.limiter.test(rates.failed_auth, client):
            log.warning("429 %s %s: too many refused tokens from %s", scope["method"], path, client)
            await problem(path, 429, "rate_limited", "Too many failed authentications",
                          "too many requests with a refused token; try again later",
                          {"Retry-After": rates.retry_after(rates.failed_auth, client)},
                          )(scope, receive, send)
            return
        if rates.on and path in PUBLIC_SEARCH and not rates.limiter.hit(rates.search, client):
            log.warning("429 %s %s: search rate of %s", scope["method"], path, client)
            await problem(path, 429, "rate_limited", "Too many searches",
                          f"at most {settings.public_search_rate} searches per client",
                          {"Retry-After": rates.retry_after(rates.search, client)},
                          )(scope, receive, send)
            return

        def refused_token(message: Message) -> None:
            if (rates.on and message["type"] == "http.response.start"
                    and message["status"] == 401 and b"authorization" in headers):
                rates.limiter.hit(rates.failed_auth, client)

        async def noting(message: Message) -> None:
            refused_token(message)
            await send(message)

        has_body = (b"transfer-encoding" in headers
                    or headers.get(b"content-length", b"0") not in (b"", b"0")
                    or (scope["method"] in BODY_METHODS and b"content-length" not in headers))
        if protected and has_body and not await self._authenticated(scope, db, headers, noting):
            return

        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data")
        limit = settings.max_upload_body_bytes if multipart else settings.max_json_body_bytes
        await self._limited(scope, receive, noting, limit)

    async def _authenticated(self, scope: Scope, db: Database, headers: dict[bytes, bytes],
                             send: Send) -> bool:
        """Check the token before the body is read; answer 401 (body unread) when it fails."""
        path: str = scope["path"]
        scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            answer = _unauthorized(path, "Authentication required", "send Authorization: Bearer <token>")
        else:
            try:
                found = await run_in_threadpool(check_token, db, credentials.strip())
            except TokenRefused as e:
                answer = _unauthorized(path, "Unknown token", e.reason)
            else:
                scope.setdefault("state", {})[PRINCIPAL_STATE] = found
                return True
        log.info("401 %s %s before reading its body", scope["method"], path)
        await answer(scope, _no_body, send)
        return False

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        path: str = scope["path"]
        declared = dict(scope["headers"]).get(b"content-length", b"")
        answered = False
        started = False

        async def too_large() -> None:
            nonlocal answered
            log.warning("413 %s %s: body over %d bytes", scope["method"], path, limit)
            answered = True
            if not started:
                await problem(path, 413, "payload_too_large", "Request body too large",
                              f"a body here may hold at most {limit} bytes")(scope, _no_body, send)

        if declared.isdigit() and int(declared) > limit:
            await too_large()
            return

        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    await too_large()
                    raise _TooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if answered:  # what the app answers to the cut-off body is not sent: the 413 was
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        # The app may let the cut-off propagate (or answer it, which `sending` drops).
        with contextlib.suppress(_TooLarge):
            await self.app(scope, counting, sending)


async def _no_body() -> Message:
    # Our own answers never read the request.
    return {"type": "http.disconnect"}
