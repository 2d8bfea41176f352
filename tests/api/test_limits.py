"""Abuse limits (issue 9 items 4 and 8): body sizes counted as they arrive, the token checked
before a body is read, rate limits, the `?after=` wait on the event loop, hardening headers."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.problems import PROBLEM_JSON
from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings
from tests.conftest import make_tokens
from tests.helpers import API, auth, donor

JSON_LIMIT = 4096
UPLOAD_LIMIT = 64 * 1024


def _settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url,
                            "run_projections": False, "service_key_hex": "", "wait_timeout_s": 10,
                            "max_json_body_bytes": JSON_LIMIT, "max_upload_body_bytes": UPLOAD_LIMIT}
    return Settings(**{**base, **overrides})


Make = Callable[..., tuple[TestClient, CompositionRoot, dict[str, str]]]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    """An app on a fresh SQLite file with these settings: (client, services, tokens)."""
    opened: list[tuple[TestClient, CompositionRoot]] = []

    def make(**overrides: Any) -> tuple[TestClient, CompositionRoot, dict[str, str]]:
        n = len(opened)
        svc = build(_settings(f"sqlite:///{tmp_path / f'ledger{n}.db'}", tmp_path / f"data{n}",
                              **overrides))
        svc.start_projections()
        client = TestClient(create_app(services=svc))
        client.__enter__()
        opened.append((client, svc))
        return client, svc, make_tokens(svc)

    yield make
    for client, svc in opened:
        client.__exit__(None, None, None)
        svc.close()


@pytest.fixture
def limited(make: Make) -> tuple[TestClient, CompositionRoot, dict[str, str]]:
    return make()


def _head(svc: CompositionRoot) -> int:
    return svc.ledger.recorder.max_notification_id() or 0


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    data: dict[str, Any] = response.json()
    assert (data["status"], data["code"]) == (status, code)
    assert data["type"].endswith("/" + code) and data["title"] and data["instance"]
    return data


class Counted:
    """A request body that notes how much of it the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024, prefix: bytes = b"") -> None:
        self.total, self.chunk, self.prefix = total, chunk, prefix
        self.consumed = 0

    def __iter__(self) -> Iterator[bytes]:
        self.consumed += len(self.prefix)
        yield self.prefix
        while self.consumed < self.total:
            part = b"x" * min(self.chunk, self.total - self.consumed)
            self.consumed += len(part)
            yield part


# ---- body limits ------------------------------------------------------------------------------

def test_an_oversized_json_body_sent_chunked_gets_413_and_records_nothing(limited: Any) -> None:
    client, svc, tokens = limited
    before = _head(svc)
    body = json.dumps({"name": "A" * (2 * JSON_LIMIT), "kind": "individual"}).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 512):
            yield body[i:i + 512]

    response = client.post(f"{API}/donors", content=chunks(),
                           headers={**auth(tokens["finance"]), "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers  # chunked: nothing declared
    _problem(response, 413, "payload_too_large")
    assert _head(svc) == before
    # A body within the limit still goes through.
    assert donor(client, tokens["finance"], "Nguyễn Văn Bình")
    assert _head(svc) > before


def test_a_declared_length_over_the_limit_is_refused_before_the_body(limited: Any) -> None:
    client, _, tokens = limited
    body = Counted(10 * 2**20)
    response = client.post(f"{API}/donors", content=body,
                           headers={**auth(tokens["finance"]), "Content-Type": "application/json",
                                    "Content-Length": str(body.total)})
    _problem(response, 413, "payload_too_large")
    assert body.consumed == 0


def test_uploads_have_their_own_larger_limit(limited: Any) -> None:
    client, svc, tokens = limited
    before = _head(svc)
    url = f"{API}/bank-accounts/NOSUCH/statements"
    headers = auth(tokens["finance"])
    # Above the JSON limit, below the upload one: past the body limit (refused for other reasons).
    small = client.post(url, files={"file": ("s.csv", b"a,b\n" * (2 * JSON_LIMIT // 4))},
                        headers=headers)
    assert small.status_code != 413, small.text
    big = client.post(url, files={"file": ("s.csv", b"a,b\n" * (UPLOAD_LIMIT // 2))},
                      headers=headers)
    _problem(big, 413, "payload_too_large")
    assert _head(svc) == before


@pytest.mark.parametrize("token", [None, "mb_not-a-token"])
def test_a_post_without_a_valid_token_is_refused_401_without_reading_its_body(
        limited: Any, token: str | None) -> None:
    client, svc, _ = limited
    before = _head(svc)
    body = Counted(10 * 2**20)
    headers = {"Content-Type": "application/json", **(auth(token) if token else {})}
    response = client.post(f"{API}/donors", content=body, headers=headers)
    _problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert body.consumed == 0, "the body was read before the token was checked"
    assert _head(svc) == before


def test_a_revoked_token_is_refused_before_its_upload_is_read(limited: Any) -> None:
    from adapters.tokens import revoke_token

    client, svc, tokens = limited
    revoke_token(svc.db, "finance")
    body = Counted(10 * 2**20, prefix=b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n")
    response = client.post(f"{API}/bank-accounts/AGR/statements", content=body,
                           headers={**auth(tokens["finance"]),
                                    "Content-Type": "multipart/form-data; boundary=b"})
    assert _problem(response, 401, "unauthorized")["detail"] == "this token has been revoked"
    assert body.consumed == 0


# ---- a real server: the answer comes before the body is sent ----------------------------------

@contextmanager
def serving(app: FastAPI) -> Iterator[tuple[str, int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=20).status_code == 200
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _raw_answer(host: str, port: int, head: str) -> tuple[int, dict[str, Any]]:
    """Send only a request's head (its declared body never follows) and read the answer."""
    with socket.create_connection((host, port), timeout=20) as conn:
        conn.sendall(head.encode())
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


def test_a_real_server_answers_before_the_body_arrives(tmp_path: Path) -> None:
    svc = build(_settings(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "data"))
    try:
        token = make_tokens(svc)["finance"]
        with serving(create_app(services=svc)) as (host, port):
            status, body = _raw_answer(host, port, (
                f"POST {API}/donors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {10 * 2**20}\r\n\r\n"))
            assert (status, body["code"]) == (401, "unauthorized")
            status, body = _raw_answer(host, port, (
                f"POST {API}/donors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: {10 * 2**20}\r\n\r\n"))
            assert (status, body["code"]) == (413, "payload_too_large")
    finally:
        svc.close()


# ---- rate limits ------------------------------------------------------------------------------

def test_public_search_is_rate_limited_per_client(make: Make) -> None:
    client, _, _ = make(public_search_rate="3/minute")
    paths = [f"{API}/public/donations", "/donations", "/donations.csv"]
    for path in paths:
        assert client.get(path, params={"q": "an"}).status_code == 200
    refused = client.get(paths[0], params={"q": "an"})
    _problem(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    _problem(client.get("/donations"), 429, "rate_limited")
    # Other public reads are not searches.
    assert client.get(f"{API}/public/summary").status_code == 200


def test_failed_authentication_is_rate_limited_per_client(make: Make) -> None:
    client, _, tokens = make(failed_auth_rate="5/minute")
    url = f"{API}/balances/funds"
    for _ in range(5):
        _problem(client.get(url, headers=auth("mb_guess")), 401, "unauthorized")
    refused = client.get(url, headers=auth("mb_guess"))
    _problem(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    # Every request that needs a token waits out the window, the body-carrying ones unread ...
    body = Counted(2**20)
    _problem(client.post(f"{API}/donors", content=body, headers=auth(tokens["finance"])),
             429, "rate_limited")
    assert body.consumed == 0
    _problem(client.get(url, headers=auth(tokens["finance"])), 429, "rate_limited")
    # ... while public reads go on.
    assert client.get(f"{API}/public/summary").status_code == 200


def test_missing_credentials_are_not_counted_as_failures(make: Make) -> None:
    client, _, tokens = make(failed_auth_rate="2/minute")
    for _ in range(5):
        _problem(client.get(f"{API}/balances/funds"), 401, "unauthorized")
    assert client.get(f"{API}/balances/funds", headers=auth(tokens["finance"])).status_code == 200


def test_rate_limits_switch_off(make: Make) -> None:
    client, _, _ = make(rate_limits=False, public_search_rate="1/minute", failed_auth_rate="1/minute")
    for _ in range(4):
        assert client.get(f"{API}/public/donations").status_code == 200
        assert client.get(f"{API}/balances/funds", headers=auth("mb_guess")).status_code == 401


# ---- ?after= -----------------------------------------------------------------------------------

def test_anonymous_waits_are_capped_and_shorter(make: Make) -> None:
    client, svc, tokens = make(max_anonymous_waiters=0, anonymous_wait_timeout_s=0.1)
    far = {"after": 10**12}
    busy = client.get(f"{API}/public/summary", params=far)
    _problem(busy, 503, "busy")
    assert busy.headers["retry-after"] == "1"
    # A position already reached answers at once, cap or not.
    made = client.post(f"{API}/donors", headers=auth(tokens["finance"]),
                       json={"name": "Lò Văn Páo", "kind": "individual"}).json()["position"]
    svc.runner.catch_up()
    assert client.get(f"{API}/public/summary", params={"after": made}).status_code == 200
    # Staff are not anonymous: they wait (here for a position that never comes, so 503 later).
    svc.settings.wait_timeout_s = 0.2
    staff = client.get(f"{API}/balances/funds", params=far, headers=auth(tokens["finance"]))
    _problem(staff, 503, "not_yet_projected")


def test_anonymous_callers_wait_less_than_staff(make: Make) -> None:
    client, _, _ = make(anonymous_wait_timeout_s=0.1, wait_timeout_s=60)
    started = time.monotonic()
    _problem(client.get(f"{API}/public/summary", params={"after": 10**12}), 503, "not_yet_projected")
    assert time.monotonic() - started < 30, "an anonymous caller got the staff's minute"


def test_waiting_for_a_position_holds_no_worker_thread(tmp_path: Path) -> None:
    """More waiters than the threadpool has threads, and a staff read still answers while they
    all wait: nobody's wait sits in a thread."""
    waiters = 60  # anyio's default threadpool has 40 threads
    svc = build(_settings(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "data",
                          max_anonymous_waiters=waiters, anonymous_wait_timeout_s=30,
                          wait_timeout_s=30))
    try:
        token = make_tokens(svc)["finance"]
        app = create_app(services=svc)
        with serving(app) as (host, port):
            base = f"http://{host}:{port}"

            async def scenario() -> None:
                limits = httpx.Limits(max_connections=waiters + 5)
                async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
                    far = _head(svc) + 1  # the next event: written below, once all wait
                    tasks = [asyncio.create_task(http.get(f"{API}/public/summary",
                                                          params={"after": far}))
                             for _ in range(waiters)]
                    while getattr(app.state, "position_watch", None) is None \
                            or app.state.position_watch.anonymous < waiters:
                        await asyncio.sleep(0.01)
                    staff = await http.get(f"{API}/balances/funds", headers=auth(token))
                    assert staff.status_code == 200, staff.text
                    assert not any(t.done() for t in tasks), "the waiters did not wait"
                    made = await http.post(f"{API}/donors", headers=auth(token),
                                           json={"name": "Lý Văn Tú", "kind": "individual"})
                    assert made.status_code == 201, made.text
                    svc.runner.catch_up()
                    answers = await asyncio.gather(*tasks)
                    assert [a.status_code for a in answers] == [200] * waiters

            asyncio.run(scenario())
    finally:
        svc.close()


# ---- hardening ---------------------------------------------------------------------------------

def test_staff_and_audit_answers_are_not_stored(limited: Any) -> None:
    client, _, tokens = limited
    for path, token in ((f"{API}/balances/funds", "finance"), (f"{API}/audit/events", "auditor"),
                        (f"{API}/bank-accounts", "finance")):
        response = client.get(path, headers=auth(tokens[token]))
        assert response.status_code == 200, response.text
        assert response.headers.get_list("cache-control") == ["no-store"], path
    refused = client.get(f"{API}/audit/events")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    made = client.post(f"{API}/donors", headers=auth(tokens["finance"]),
                       json={"name": "Đỗ Thị Mai", "kind": "individual"})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    # Public answers keep their own caching.
    assert client.get(f"{API}/audit/tree-head").headers.get("cache-control") != "no-store"
    assert "no-store" not in client.get(f"{API}/public/summary").headers.get("cache-control", "")


def _request_id_of(svc: CompositionRoot, position: int) -> str:
    stored = svc.ledger.recorder.select_notifications(start=position, limit=1)[0]
    event: Any = svc.ledger.mapper.to_domain_event(stored)
    rid: str = event.meta["request_id"]
    return rid


@pytest.mark.parametrize("sent", ["x" * 101, "abc\x7fdef", "ünïcode", "tab\there"])
def test_an_unfit_request_id_is_replaced_by_a_fresh_uuid(limited: Any, sent: str) -> None:
    client, svc, tokens = limited
    made = client.post(f"{API}/donors", headers={**auth(tokens["finance"]),
                                                 "X-Request-ID": sent.encode()},
                       json={"name": "Vũ Văn Hải", "kind": "individual"})
    assert made.status_code == 201, made.text
    stored = _request_id_of(svc, made.json()["position"])
    assert stored != sent and uuid.UUID(stored)


def test_a_fit_request_id_is_kept(limited: Any) -> None:
    client, svc, tokens = limited
    sent = "req-" + "7" * 96
    made = client.post(f"{API}/donors", headers={**auth(tokens["finance"]), "X-Request-ID": sent},
                       json={"name": "Vũ Văn Hải", "kind": "individual"})
    assert made.status_code == 201, made.text
    assert _request_id_of(svc, made.json()["position"]) == sent
