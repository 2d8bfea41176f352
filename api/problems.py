"""RFC 9457 problem details with a stable `code`, for every error the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError

PROBLEM_JSON = "application/problem+json"
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 422: "validation_error",
          503: "unavailable"}


_PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"}, "instance": {"type": "string"},
    },
}
OPENAPI_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {PROBLEM_JSON: {"schema": _PROBLEM_SCHEMA}}}
    for status, text in (
        (401, "unauthorized"), (403, "forbidden"), (404, "not_found"),
        (409, "insufficient_funds, already_reversed, duplicate_support, already_recorded"),
        (422, "validation_error, idempotency_key_reused"), (503, "busy, not_yet_projected"),
    )
}


class Problem(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str = "",
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(request: Request, status: int, code: str, title: str, detail: str = "",
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": f"https://minhbach.example/problems/{code}", "title": title,
            "status": status, "detail": detail, "code": code, "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.code, exc.title, exc.detail, exc.headers,
                                **exc.extra)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return problem_response(request, exc.status, exc.code, exc.title, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        return problem_response(request, 422, "validation_error", "Invalid input", detail,
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return problem_response(request, exc.status_code, code, str(exc.detail), str(exc.detail),
                                getattr(exc, "headers", None))
