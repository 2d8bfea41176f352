"""Small builders for tests that drive the HTTP API."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from domain.meta import SYSTEM
from ledger.application import Ledger
from ledger.bootstrap import CompositionRoot

API = "/api/v1"
STARTUP_TIMEOUT_S = 20


# The seasons the tests' ledgers open (a fresh installation knows none): whole years, which
# never overlap.
TEST_SEASONS = ("2021", "2022")


def open_seasons(ledger: Ledger, codes: tuple[str, ...] = TEST_SEASONS) -> None:
    for code in codes:
        ledger.open_season(SYSTEM, f"test-season-{code}", code=code, name=f"Năm {code}",
                           starts_on=f"{code}-01-01", ends_on=f"{code}-12-31")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def districts(services: CompositionRoot) -> list[str]:
    """The districts with communes the plan supports, in order: the test tokens' come first."""
    areas = services.areas
    return [a.code for a in areas.all() if a.kind == "district"
            and any(c.extremely_difficult for c in areas.communes(a.code))]


def communes(services: CompositionRoot, district: str | None = None) -> list[str]:
    """The communes the plan supports (flagged extremely difficult), of a district or all."""
    return [a.code for a in services.areas.communes(district) if a.extremely_difficult]


def post(client: TestClient, path: str, token: str, body: dict[str, Any],
         expect: int = 201, **headers: str) -> dict[str, Any]:
    response = client.post(API + path, json=body, headers={**auth(token), **headers})
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


def get(client: TestClient, path: str, token: str | None = None, expect: int = 200,
        **params: Any) -> dict[str, Any]:
    response = client.get(API + path, params=params, headers=auth(token) if token else {})
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


def donor(client: TestClient, token: str, name: str = "Nguyễn Văn An", **extra: Any) -> str:
    return str(post(client, "/donors", token, {"name": name, "kind": "individual", **extra})["id"])


def receipt(client: TestClient, token: str, donor_id: str, amount_vnd: int,
            fund: str = "campaign", **extra: Any) -> dict[str, Any]:
    body = {"donor_id": donor_id, "fund": fund, "received_on": "2021-03-01", "channel": "bank",
            "amount_vnd": amount_vnd, **extra}
    return post(client, "/receipts", token, body)


@contextmanager
def serving(services: CompositionRoot) -> Iterator[str]:
    """Run the app under uvicorn on a free loopback port, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(services=services), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn",
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        # The socket listens before the server starts, so this request waits in the backlog
        # until the server is up and answers: no polling.
        assert httpx.get(base + "/healthz", timeout=STARTUP_TIMEOUT_S).status_code == 200
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
    assert not thread.is_alive(), "the server did not stop"
