"""RFC 9457 problem details with a stable `code`, for every error the API returns.

Unexpected exceptions too: `CatchAll` logs them with the request id and answers a problem+json
500 (`internal_error`) that says nothing of the cause but the request id, so that a caller can
quote it and an operator can find the log line."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import DomainError
from projections.runner import ProjectionFailed, is_transient

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          422: "validation_error", 429: "rate_limited", 503: "unavailable"}
MAX_REQUEST_ID = 100  # as api.deps keeps in events: a longer or odd client id is replaced
PROJECTION_RETRY_AFTER_S = 60  # a stopped projection needs an operator, not a quick retry
_SURROGATE = re.compile("[\ud800-\udfff]")


_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"}, "instance": {"type": "string"},
    },
}
PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}
def _domain_codes(status: int) -> list[str]:
    """The stable codes of the domain's errors answered with `status` (domain/errors.py)."""
    found, todo = set(), list(DomainError.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.status == status:
            found.add(cls.code)
    return sorted(found)


OPENAPI_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": ", ".join(codes), "content": PROBLEM_CONTENT}
    for status, codes in (
        (400, ["bad_request (a body that is not JSON)"]),
        (401, ["unauthorized"]), (403, sorted({*_domain_codes(403), "forbidden"})), (404, _domain_codes(404)),
        (409, [*_domain_codes(409), "conflict"]),
        (413, ["payload_too_large"]),
        (422, _domain_codes(422)),
        (429, ["rate_limited (with Retry-After)"]),
        (500, ["internal_error (the body names the request id)"]),
        (503, [*_domain_codes(503), "not_yet_projected", "projection_failed",
               "database_unavailable"]),
    )
}


class Problem(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str = "",
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}
        self.extra = extra


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (a JSON body's "\ud800" echoed in an error) has no UTF-8 form.
            return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def problem_body(path: str, status: int, code: str, title: str, detail: str = "",
                 **extra: Any) -> dict[str, Any]:
    return {"type": f"https://minhbach.example/problems/{code}", "title": title,
            "status": status, "detail": detail, "code": code, "instance": path, **extra}


def problem_response(request: Request, status: int, code: str, title: str, detail: str = "",
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return ProblemResponse(problem_body(request.url.path, status, code, title, detail, **extra),
                           status_code=status, headers=headers)


def projection_failed(path: str, exc: ProjectionFailed) -> ProblemResponse:
    # The error's class only: its message may quote the event's data.
    body = problem_body(
        path, 503, "projection_failed", "A read model has stopped",
        f"projection {exc.name} cannot apply the event at position {exc.position} ({exc.topic}):"
        f" {exc.error}; it stays stopped until it is fixed and rebuilt",
        projection=exc.name, position=exc.position, topic=exc.topic, error=exc.error)
    return ProblemResponse(body, status_code=503,
                           headers={"Retry-After": str(PROJECTION_RETRY_AFTER_S)})


def request_id(scope: Scope) -> str | None:
    """The client's X-Request-ID, when it is one we keep (short, printable ASCII)."""
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text: str = value.decode("latin-1")
            if 0 < len(text) <= MAX_REQUEST_ID and text.isascii() and text.isprintable():
                return text
    return None


def unexpected(scope: Scope, exc: Exception) -> ProblemResponse:
    """Log an exception nobody handled and answer for it, with the request's id."""
    rid = request_id(scope) or str(uuid.uuid4())
    method, path = scope.get("method", ""), scope.get("path", "")
    headers = {"X-Request-ID": rid}
    if isinstance(exc, ProjectionFailed):
        return projection_failed(path, exc)
    if is_transient(exc):
        log.warning("database unavailable answering %s %s (request %s): %s: %s", method, path,
                    rid, type(exc).__name__, exc)
        return ProblemResponse(
            problem_body(path, 503, "database_unavailable", "Database unavailable",
                         "the database does not answer; try again shortly", request_id=rid),
            status_code=503, headers={**headers, "Retry-After": "5"})
    log.error("unexpected error answering %s %s (request %s)", method, path, rid, exc_info=exc)
    return ProblemResponse(
        problem_body(path, 500, "internal_error", "Internal error",
                     f"something went wrong on our side; quote request id {rid}", request_id=rid),
        status_code=500, headers=headers)


class CatchAll:
    """Pure ASGI: whatever the app inside raises becomes a problem+json answer, not a bare 500.

    It also gives a request without a usable X-Request-ID one, so that the events it records and
    the log lines of a failure name the same id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if request_id(scope) is None:
            headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"x-request-id"]
            scope = {**scope, "headers": [*headers, (b"x-request-id", str(uuid.uuid4()).encode())]}
        started = False

        async def noting(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, noting)
        except Exception as exc:
            if started:
                # Too late for another answer: the server cuts the connection and logs it.
                log.error("error after the answer began, %s %s (request %s)", scope.get("method"),
                          scope.get("path"), request_id(scope), exc_info=exc)
                raise
            await unexpected(scope, exc)(scope, receive, send)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.code, exc.title, exc.detail, exc.headers,
                                **exc.extra)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return problem_response(request, exc.status, exc.code, exc.title, exc.detail, headers)

    @app.exception_handler(ProjectionFailed)
    async def _projection(request: Request, exc: ProjectionFailed) -> JSONResponse:
        return projection_failed(request.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Never the input itself: it may be personal data (and need not even be encodable).
        errors = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                   "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return problem_response(request, 422, "validation_error", "Invalid input", detail,
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return problem_response(request, exc.status_code, code, str(exc.detail), str(exc.detail),
                                getattr(exc, "headers", None))

    # The last resort, for an error in a middleware outside CatchAll: Starlette answers with it
    # (and re-raises for the server to log).
    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected(request.scope, exc)
