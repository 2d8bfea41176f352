"""The interactive API docs (`/docs`, Swagger UI) with no outside request: its script and styles
come from the `fastapi-offline` package (a copy of the CDN files, kept up to date by its
maintainers), and the page runs no inline code, so it lives under the same strict
Content-Security-Policy as the rest of the site (FastAPI's own page loads from a CDN and runs an
inline script). ReDoc is not served: see docs/decisions.md."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/static/docs"
router = APIRouter(include_in_schema=False)
assets = StaticFiles(packages=[("fastapi_offline", "static")])


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    # Started by /static/docs.js, which reads the spec's address from the page.
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Minh Bạch API — Swagger UI</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="{ASSETS}/favicon.png">'
        f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css"></head><body>'
        '<div id="swagger-ui" data-spec="/openapi.json"></div>'
        f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>'
        '<script src="/static/docs.js"></script></body></html>')
