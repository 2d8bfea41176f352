"""A real server with the demo ledger, and Debian's Chromium driven by Playwright.

`make test` installs Chromium (Debian's package) when it is missing. Outside CI the browser tests
are skipped if it is not there; under CI=true they fail instead."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from ledger.bootstrap import CompositionRoot
from ledger.demo import load_demo
from tests.conftest import IN_CI, make_services
from tests.helpers import serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class Site:
    base: str
    services: CompositionRoot


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("site")
    services = make_services(f"sqlite:///{data / 'ledger.db'}", data / "data")
    try:
        load_demo(services.ledger)
        services.runner.catch_up()
        assert services.tree_heads.publish() is not None
        with serving(services) as base:
            yield Site(base, services)
    finally:
        services.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (make test installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page that fails the test on any console error (a CSP violation is one)."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors
