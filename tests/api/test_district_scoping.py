"""A district officer sees and gives support only inside their district, and nothing they are
answered tells them about a child of another district (issue 12, item 2): a distribution naming
such a child is refused exactly as one naming no child at all."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, communes, districts, donor, post, receipt


def _distribution(commune: str, child_id: str) -> dict[str, Any]:
    return {"season": "2021", "commune": commune, "category": "tet-gifts",
            "distributed_on": "2021-02-01",
            "lines": [{"child_id": child_id, "description": "Quà Tết", "value_vnd": 100_000}]}


def test_a_child_elsewhere_is_refused_and_another_districts_child_is_unknown(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, officer, other = tokens["finance"], tokens["district"], tokens["district_other"]
    first, second = districts(services)[:2]  # the tokens'
    here, there = communes(services, first)[:2]
    theirs = communes(services, second)[0]
    gift = donor(client, fin)
    receipt(client, fin, gift, 1_000_000)
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": here,
                                       "category": "tet-gifts", "amount_vnd": 500_000,
                                       "decision_ref": "QĐ 1"})
    neighbour = post(client, "/children", officer, {"commune": there, "full_name": "Lò Thị Mai",
                                                    "birth_year": 2015})
    stranger = post(client, "/children", other, {"commune": theirs, "full_name": "Hoàng Văn Páo",
                                                 "birth_year": 2014})

    # A child of the same district, registered in another commune: said so, with a stable code.
    moved = client.post(API + "/distributions", json=_distribution(here, neighbour["id"]),
                        headers=auth(officer))
    assert moved.status_code == 422, moved.text
    assert moved.json()["code"] == "child_in_another_commune"

    # A child of another district: the same answer as an id nobody registered.
    unknown = "00000000-0000-4000-8000-000000000000"
    answers = [client.post(API + "/distributions", json=_distribution(here, child_id),
                           headers=auth(officer)) for child_id in (stranger["id"], unknown)]
    assert [a.status_code for a in answers] == [404, 404]
    bodies = [a.json() for a in answers]
    assert bodies[0]["code"] == bodies[1]["code"] == "not_found"
    assert bodies[0]["detail"].replace(stranger["id"], unknown) == bodies[1]["detail"]
    assert stranger["code"] not in answers[0].text and theirs not in answers[0].text


def test_every_child_and_need_endpoint_answers_another_districts_record_as_unknown(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    """The scoping matrix: for each endpoint naming a child or a need, a record of another
    district is answered exactly as an id nobody registered (status, code, and detail but for
    the id), and the answer names nothing of that record."""
    fin, officer, other = tokens["finance"], tokens["district"], tokens["district_other"]
    first, second = districts(services)[:2]
    mine, mine_too = communes(services, first)[:2]
    theirs = communes(services, second)[0]
    stranger = post(client, "/children", other, {"commune": theirs, "full_name": "Hoàng Văn Páo",
                                                 "birth_year": 2014, "guardian_name": "Hoàng Văn Sử"})
    need = post(client, "/needs", fin, {"season": "2021", "commune": theirs, "category": "tet-gifts",
                                        "children_count": 9, "estimated_vnd": 900_000})
    own = post(client, "/children", officer, {"commune": mine, "full_name": "Lò Thị Mai",
                                              "birth_year": 2015})
    unknown = "00000000-0000-4000-8000-000000000000"
    cases: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("GET", "/children/{id}/history", None, stranger["id"]),
        ("POST", "/children/{id}/corrections", {"ethnicity": "Tày", "reason": "bổ sung"}, stranger["id"]),
        ("POST", "/children/{id}/transfer", {"commune": mine_too, "reason": "chuyển nhà"}, stranger["id"]),
        ("POST", "/children/{id}/merge", {"into": own["id"], "reason": "trùng"}, stranger["id"]),
        ("POST", f"/children/{own['id']}/merge", {"into": "{id}", "reason": "trùng"}, stranger["id"]),
        ("POST", "/needs/{id}/corrections", {"children_count": 1, "estimated_vnd": 1, "reason": "x"},
         need["id"]),
    ]
    head = services.ledger.recorder.max_notification_id()
    for method, path, body, theirs_id in cases:
        answers = []
        for record in (theirs_id, unknown):
            sent = None if body is None else {k: v.replace("{id}", record) if isinstance(v, str) else v
                                              for k, v in body.items()}
            answers.append(client.request(method, API + path.replace("{id}", record), json=sent,
                                          headers=auth(officer)))
        assert [a.status_code for a in answers] == [404, 404], (path, answers[0].text)
        found, nobody = (a.json() for a in answers)
        assert found["code"] == nobody["code"] == "not_found"
        assert found["detail"].replace(theirs_id, unknown) == nobody["detail"], path
        for secret in (stranger["code"], theirs, "Páo", "Hoàng", "2014"):
            assert secret not in answers[0].text, (path, secret)
    assert services.ledger.recorder.max_notification_id() == head
    duplicates = client.get(API + "/children/duplicates", headers=auth(officer))
    assert duplicates.status_code == 200 and stranger["id"] not in duplicates.text
