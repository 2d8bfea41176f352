"""Every error is problem+json: the unexpected ones too (logged with the request id, answered
with nothing of their cause), and inputs that can't even be encoded back."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.problems import ProblemResponse
from ledger.bootstrap import CompositionRoot
from tests.helpers import auth

API = "/api/v1"


def break_fund_balances(services: CompositionRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail: table fund_balances is gone")

    monkeypatch.setattr(services.queries, "fund_balances", broken)


def test_an_unexpected_error_is_logged_with_its_request_id_and_answered_as_a_problem(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    break_fund_balances(services, monkeypatch)
    with caplog.at_level(logging.ERROR, logger="api.problems"):
        answer = client.get(f"{API}/balances/funds",
                            headers={**auth(tokens["auditor"]), "X-Request-ID": "req-4711"})

    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert (body["code"], body["status"], body["request_id"]) == ("internal_error", 500, "req-4711")
    assert answer.headers["x-request-id"] == "req-4711"
    assert "internal detail" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"  # still has the usual headers
    [logged] = [r for r in caplog.records if r.name == "api.problems"]
    assert "req-4711" in logged.getMessage() and "/api/v1/balances/funds" in logged.getMessage()
    assert logged.exc_info is not None and "internal detail" in str(logged.exc_info[1])


def test_without_a_usable_request_id_one_is_made_and_returned(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    break_fund_balances(services, monkeypatch)
    for sent in ({}, {"X-Request-ID": "x" * 500}):
        answer = client.get(f"{API}/balances/funds", headers={**auth(tokens["auditor"]), **sent})
        assert answer.status_code == 500
        made = answer.json()["request_id"]
        assert str(uuid.UUID(made)) == made and answer.headers["x-request-id"] == made


def test_a_lone_surrogate_in_a_body_is_a_4xx_problem(client: TestClient,
                                                     tokens: dict[str, str]) -> None:
    for raw in (b'{"name": "\\ud800", "kind": "individual"}',
                b'{"name": "An", "kind": "\\udfff"}', b'{"\\ud800": 1}'):
        answer = client.post(f"{API}/donors", content=raw, headers={
            **auth(tokens["finance"]), "Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "validation_error"


def test_a_problem_holding_a_lone_surrogate_still_renders_as_utf8_json() -> None:
    problem = {"detail": "name: bad \ud800 here", "errors": [{"loc": ["\udfff"]}]}
    body = bytes(ProblemResponse(problem).body)
    assert json.loads(body.decode("utf-8")) == {"detail": "name: bad \ufffd here",
                                                 "errors": [{"loc": ["\ufffd"]}]}
