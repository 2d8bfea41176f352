"""The FastAPI application, built from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import docs_pages, health, metrics, problems, site
from api.limits import RequestLimits
from api.replica import ReadReplica, ReplicaReads
from api.routes import (
    audit,
    bank,
    commands,
    open_data,
    partners,
    proposals,
    public,
    public_export,
    queries,
    reports,
    seasons,
)
from api.schemas import use_date_window
from api.web_headers import WebHeaders
from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings

PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, services: CompositionRoot | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = services or build(settings)
        use_date_window(svc.settings.date_window)  # HTTP refuses what the ledger would refuse
        app.state.services = svc
        if svc.settings.run_projections:
            svc.start_projections()
        try:
            yield
        finally:
            if services is None:
                svc.close()

    app = FastAPI(
        title="Minh Bạch API",
        version="1",
        summary="Sổ cái minh bạch cho các khoản ủng hộ trẻ em — a verifiable donation ledger",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    # Inside the metrics middleware, so that its early 401/413/429 answers are counted.
    app.add_middleware(RequestLimits)
    metrics.install(app)
    # Public and auditor reads may be served by the read replica (api/replica.py).
    replicated = (public, public_export, open_data, audit)
    for module in (commands, seasons, partners, queries, reports, proposals, bank, public,
                   public_export, open_data, audit):
        app.include_router(module.router, prefix=PREFIX, responses=problems.OPENAPI_RESPONSES,
                           dependencies=[ReadReplica] if module in replicated else [])
    app.state.replica_reads = ReplicaReads()

    app.include_router(health.router)

    app.state.page_cache = site.PageCache()
    app.include_router(site.router, dependencies=[ReadReplica])
    app.include_router(docs_pages.router)
    app.mount(docs_pages.ASSETS, docs_pages.assets, name="docs-assets")
    app.mount("/static", StaticFiles(packages=[("api", "static")]), name="static")
    # Outside every other middleware but the headers: whatever fails inside is logged with the
    # request id and answered as problem+json, and still gets the security headers.
    app.add_middleware(problems.CatchAll)
    app.add_middleware(WebHeaders)

    return app
