"""Bad text and bad dates over HTTP: every class is refused with 422 `validation_error` in
problem+json, naming the field, and nothing is recorded (the log does not move)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, communes, donor, receipt

# As JSON escapes, so that the request body itself is what a hostile client would send.
BAD_TEXT = {
    "nul": "An\\u0000h", "c0": "An\\u0007h", "c1": "An\\u0085h", "lone surrogate": "An\\ud800h",
    "bidi override": "An\\u202eh", "bidi isolate": "An\\u2066h", "zero-width": "An\\u200bh",
    "bom": "An\\ufeffh", "tab in a name": "An\\th", "newline in a name": "An\\nh",
    "too long": "A" * 201,
}
BAD_DATES: list[Any] = [1614556800, "2021-03-01T00:00:00", "1999-12-31", "2999-01-01", "9999-12-31",
                        "0001-01-01", "not a date", "2021-02-30", 20210301.0]


def head(services: CompositionRoot) -> int:
    return services.ledger.recorder.max_notification_id() or 0


def post_raw(client: TestClient, path: str, token: str, body: str) -> Any:
    return client.post(API + path, content=body.encode(),
                       headers={**auth(token), "Content-Type": "application/json"})


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert field in problem["detail"], problem["detail"]


def test_every_class_of_bad_text_is_refused_and_records_nothing(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    finance = tokens["finance"]
    donor_id = donor(client, finance)
    before = head(services)
    for kind, text in BAD_TEXT.items():
        response = post_raw(client, "/donors", finance, f'{{"name": "{text}", "kind": "individual"}}')
        assert_refused(response, "name")
        # A multi-line note refuses them too, but for tab and line breaks.
        note = f'{{"donor_id": "{donor_id}", "amount_vnd": 1000, "note": "{text}"}}'
        response = post_raw(client, "/pledges", finance, note)
        if kind in ("tab in a name", "newline in a name", "too long"):  # 201 letters: a short note
            assert response.status_code == 201, response.text
            before = head(services)
        else:
            assert_refused(response, "note")
    assert head(services) == before


def test_free_text_fields_of_other_commands(client: TestClient, services: CompositionRoot,
                                            tokens: dict[str, str]) -> None:
    finance = tokens["finance"]
    donor_id = donor(client, finance)
    commune = communes(services)[0]
    before = head(services)
    cases = [
        ("/donors", {"name": "An", "kind": "individual", "contact": "x\u0000"}, "contact"),
        ("/donors", {"name": "An", "kind": "individual", "public_name": "A\u202eB"}, "public_name"),
        ("/receipts", {"donor_id": donor_id, "fund": "campaign", "received_on": "2021-03-01",
                       "channel": "bank", "amount_vnd": 1, "bank_txn_id": "FT\u200b1"}, "bank_txn_id"),
        ("/receipts", {"donor_id": donor_id, "fund": "campaign", "received_on": "2021-03-01",
                       "channel": "in_kind", "in_kind": {"item": "Áo\u0085", "unit": "cái", "quantity": 1,
                                                         "unit_value_vnd": 1}}, "item"),
        ("/children", {"commune": commune, "full_name": "Lò\u2067 A", "birth_year": 2015}, "full_name"),
        ("/needs", {"season": "2021", "commune": commune, "category": "other", "children_count": 1,
                    "estimated_vnd": 0, "note": "n" * 2001}, "note"),
        ("/reversals", {"target_id": donor_id, "reason": "\u0000"}, "reason"),
    ]
    for path, body, field in cases:
        response = client.post(API + path, json=body, headers=auth(finance))
        assert_refused(response, field)
    assert head(services) == before


def test_dates_are_yyyy_mm_dd_inside_the_window(client: TestClient, services: CompositionRoot,
                                                tokens: dict[str, str]) -> None:
    finance = tokens["finance"]
    donor_id = donor(client, finance)
    receipt(client, finance, donor_id, 1_000_000)
    before = head(services)
    for value in BAD_DATES:
        body = {"donor_id": donor_id, "fund": "campaign", "received_on": value, "channel": "bank",
                "amount_vnd": 1000}
        assert_refused(client.post(API + "/receipts", json=body, headers=auth(finance)), "received_on")
        pledge = {"donor_id": donor_id, "amount_vnd": 1000, "due_on": value}
        assert_refused(client.post(API + "/pledges", json=pledge, headers=auth(finance)), "due_on")
    assert head(services) == before
    assert client.post(API + "/receipts", headers=auth(finance), json={
        "donor_id": donor_id, "fund": "campaign", "received_on": "2000-01-01", "channel": "bank",
        "amount_vnd": 1000}).status_code == 201


def test_a_lone_surrogate_in_a_text_field_is_a_422_not_a_500(client: TestClient,
                                                              tokens: dict[str, str]) -> None:
    body = json.dumps({"name": "A", "kind": "individual"}).replace('"A"', '"\\udc80"')
    response = post_raw(client, "/donors", tokens["finance"], body)
    assert_refused(response, "surrogate")
