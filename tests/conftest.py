"""Shared fixtures: a fresh SQLite file or a fresh PostgreSQL database per test, real servers.

PostgreSQL tests need the server at MINHBACH_TEST_PG_URL (default: postgres@127.0.0.1/test).
Outside CI they are skipped when it is unreachable; under CI=true they fail instead."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from adapters.tokens import create_token
from api.app import create_app
from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings
from tests import go_check as go_check_module
from tests import helpers

PG_URL = os.environ.get("MINHBACH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    base = PG_URL.rsplit("/", 1)[0]
    try:
        return psycopg.connect(f"{base}/test", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI and unreachable: {e}")
        pytest.skip(f"PostgreSQL unreachable: {e}")


@contextmanager
def fresh_pg_url() -> Iterator[str]:
    """A brand-new, empty PostgreSQL database, dropped when the block ends."""
    name = f"mb_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_url() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def make_services(database_url: str, data_dir: Path, *, seasons: bool = True) -> CompositionRoot:
    """The services over this store, the test seasons opened in it unless `seasons` is false
    (an empty log) or they are opened already."""
    settings = Settings(data_dir=data_dir, database_url=database_url, run_projections=False,
                        service_key_hex="", wait_timeout_s=10)
    services = build(settings)
    if seasons and not services.ledger.seasons():
        helpers.open_seasons(services.ledger)
    return services


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[CompositionRoot]:
    svc = make_services(database_url, tmp_path / "data")
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def client(services: CompositionRoot) -> Iterator[TestClient]:
    """The whole app, its projections following the log in a background thread."""
    services.start_projections()
    with TestClient(create_app(services=services)) as c:
        yield c


@pytest.fixture
def tokens(services: CompositionRoot) -> dict[str, str]:
    return make_tokens(services)


def make_tokens(services: CompositionRoot) -> dict[str, str]:
    """One token per role; `district` and `district_other` belong to two different districts,
    each with communes flagged extremely difficult (the only ones the plan supports)."""
    districts = helpers.districts(services)
    return {
        "admin": create_token(services.db, name="admin", role="admin"),
        "finance": create_token(services.db, name="finance", role="finance"),
        "auditor": create_token(services.db, name="auditor", role="auditor"),
        "district": create_token(services.db, name="district", role="district",
                                 district=districts[0]),
        "district_other": create_token(services.db, name="district2", role="district",
                                       district=districts[1]),
    }


@pytest.fixture(scope="session")
def go_check(tmp_path_factory: pytest.TempPathFactory) -> go_check_module.GoCheck:
    """Go's sumdb/note and sumdb/tlog behind one small binary, built once per session."""
    return go_check_module.build(tmp_path_factory.mktemp("go"))
