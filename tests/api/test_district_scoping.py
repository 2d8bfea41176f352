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
