"""Seasons as reference data and children who move (issue 12, item 3), through HTTP on both
databases: a fresh installation knows no season; an admin opens seasons with their dates, which
never overlap, and closes them; allocations, needs and distributions name an open season, and a
distribution's date lies in it; a child who moved is transferred before being supported in the
new commune, and their support so far follows them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings
from tests.conftest import make_tokens
from tests.helpers import API, auth, communes, districts, donor, get, post, receipt


def _season(code: str, starts_on: str, ends_on: str, name: str = "Đợt hỗ trợ") -> dict[str, Any]:
    return {"code": code, "name": name, "starts_on": starts_on, "ends_on": ends_on}


def _allocation(commune: str, season: str = "2021", **extra: Any) -> dict[str, Any]:
    return {"fund": "campaign", "season": season, "commune": commune, "category": "tet-gifts",
            "amount_vnd": 1_000_000, "decision_ref": "QĐ 1557/QĐ-UBND", **extra}


def _need(commune: str, season: str = "2021") -> dict[str, Any]:
    return {"season": season, "commune": commune, "category": "tet-gifts", "children_count": 7,
            "estimated_vnd": 1_000_000}


def _distribution(commune: str, child_id: str | None = None, season: str = "2021",
                  distributed_on: str = "2021-06-01", **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"description": "Quà Tết", "value_vnd": 100_000}
    if child_id:
        line["child_id"] = child_id
    return {"season": season, "commune": commune, "category": "tet-gifts",
            "distributed_on": distributed_on, "lines": [line], "beneficiaries_count": 5, **extra}


def _head(services: CompositionRoot) -> int:
    return services.ledger.recorder.max_notification_id() or 0


def test_a_fresh_installation_knows_no_season(tmp_path: Path, database_url: str) -> None:
    services = build(Settings(data_dir=tmp_path / "fresh", database_url=database_url,
                              run_projections=False, service_key_hex="", wait_timeout_s=10))
    try:
        tokens = make_tokens(services)
        services.start_projections()
        with TestClient(create_app(services=services)) as client:
            assert get(client, "/seasons") == {"items": [], "next_cursor": None}
            commune = communes(services)[0]
            fin = tokens["finance"]
            receipt(client, fin, donor(client, fin), 2_000_000)
            head = _head(services)
            for path, body in (("/allocations", _allocation(commune)), ("/needs", _need(commune)),
                               ("/distributions", _distribution(commune))):
                problem = post(client, path, fin, body, expect=422)
                assert problem["code"] == "season_unknown", problem
                assert "GET /seasons" in problem["detail"]
            assert _head(services) == head
            post(client, "/seasons", tokens["admin"], _season("2021", "2021-01-01", "2021-12-31"))
            post(client, "/allocations", fin, _allocation(commune))
    finally:
        services.close()


def test_seasons_are_opened_by_an_admin_with_dates_that_never_overlap(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    for role in ("finance", "district", "auditor"):
        assert post(client, "/seasons", tokens[role], _season("2023", "2023-01-01", "2023-01-31"),
                    expect=403)["code"] == "forbidden"
    head = _head(services)
    refused = {
        "season_overlap": [_season("2022-tet", "2022-01-15", "2022-02-15"),  # inside "2022"
                           _season("2023", "2022-12-31", "2023-03-01")],  # its first day
        "already_recorded": [_season("2021", "2023-01-01", "2023-02-01")],
        "validation_error": [_season("2023", "2023-03-01", "2023-02-01"),  # ends before it starts
                             _season("2025", "2023-01-01", "2023-02-01"),  # another year's name
                             _season("2023 tết", "2023-01-01", "2023-02-01"),
                             _season("0000", "2023-01-01", "2023-02-01"),
                             _season("2023", "2023-02-30", "2023-03-01"),
                             {**_season("2023", "2023-01-01", "2023-02-01"), "name": ""}],
    }
    for code, bodies in refused.items():
        for body in bodies:
            assert post(client, "/seasons", admin, body, expect=409 if code != "validation_error"
                        else 422)["code"] == code, body
    assert _head(services) == head

    tet = _season("2023-tet", "2023-01-10", "2023-02-20", "Tết Quý Mão 2023")
    made = post(client, "/seasons", admin, tet, **{"Idempotency-Key": "tet-2023"})
    again = post(client, "/seasons", admin, tet, **{"Idempotency-Key": "tet-2023"})
    assert again == made
    listed = get(client, "/seasons")["items"]
    assert [s["code"] for s in listed] == ["2021", "2022", "2023-tet"]  # in date order
    assert listed[-1] == {"code": "2023-tet", "name": "Tết Quý Mão 2023", "starts_on": "2023-01-10",
                          "ends_on": "2023-02-20", "closed": False}


def test_distributions_lie_in_their_season_and_closed_seasons_take_nothing_new(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    commune = communes(services)[0]
    receipt(client, fin, donor(client, fin), 5_000_000)
    post(client, "/allocations", fin, _allocation(commune))
    head = _head(services)
    for day in ("2020-12-31", "2022-01-01"):
        problem = post(client, "/distributions", fin, _distribution(commune, distributed_on=day),
                       expect=422)
        assert problem["code"] == "outside_season"
        assert "2021-01-01 – 2021-12-31" in problem["detail"]
    assert _head(services) == head
    given = post(client, "/distributions", fin, _distribution(commune, distributed_on="2021-12-31"))

    assert post(client, "/seasons/2021/close", fin, {"reason": "Kết thúc năm"},
                expect=403)["code"] == "forbidden"
    assert post(client, "/seasons/2019/close", admin, {"reason": "Kết thúc năm"},
                expect=422)["code"] == "season_unknown"
    post(client, "/seasons/2021/close", admin, {"reason": "Kết thúc năm 2021"})
    assert post(client, "/seasons/2021/close", admin, {"reason": "lần nữa"},
                expect=409)["code"] == "already_recorded"
    assert [s["closed"] for s in get(client, "/seasons")["items"]] == [True, False]
    head = _head(services)
    for path, body in (("/allocations", _allocation(commune)), ("/needs", _need(commune)),
                       ("/distributions", _distribution(commune))):
        assert post(client, path, fin, body, expect=409)["code"] == "season_closed", path
    assert _head(services) == head
    # What a closed season holds can still be corrected.
    post(client, "/reversals", fin, {"target_id": given["id"], "reason": "ghi nhầm"})
    # Another season goes on.
    post(client, "/allocations", fin, _allocation(commune, season="2022"))
    post(client, "/distributions", fin, _distribution(commune, season="2022",
                                                      distributed_on="2022-02-01"))


def test_entries_dated_in_a_closed_season_need_an_admin_reason_and_are_listed_publicly(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    import base64
    import json

    fin, admin = tokens["finance"], tokens["admin"]
    commune = communes(services)[0]
    payer = donor(client, fin)
    receipt(client, fin, payer, 5_000_000)
    post(client, "/seasons/2021/close", admin, {"reason": "Khoá sổ năm 2021"})
    reason = "Phiếu thu tháng 5 nộp muộn, đã đối chiếu sao kê"
    late_receipt = {"donor_id": payer, "fund": "campaign", "received_on": "2021-05-01",
                    "channel": "cash", "amount_vnd": 700_000}
    entries = (("/receipts", late_receipt), ("/allocations", _allocation(commune)),
               ("/needs", _need(commune)), ("/distributions", _distribution(commune)))
    head = _head(services)
    for path, body in entries:
        assert post(client, path, fin, body, expect=409)["code"] == "season_closed", path
        assert post(client, path, fin, {**body, "after_closing_reason": reason},
                    expect=403)["code"] == "forbidden", path
        assert post(client, path, admin, body, expect=409)["code"] == "season_closed", path
    assert _head(services) == head
    made = [post(client, path, admin, {**body, "after_closing_reason": reason})
            for path, body in entries]
    # A day in no season, and a season still open, need no reason.
    post(client, "/receipts", fin, {**late_receipt, "received_on": "2023-03-01"})
    last = post(client, "/allocations", fin, _allocation(commune, season="2022"))["position"]

    public = get(client, "/public/seasons/2021", after=last)
    assert public["closed"] is True
    listed = public["recorded_after_closing"]
    assert [e["kind"] for e in listed] == ["receipt", "allocation", "need", "distribution"]
    assert [e["amount_vnd"] for e in listed] == [700_000, 1_000_000, 1_000_000, 100_000]
    assert listed[0]["reference"] == made[0]["reference"] and listed[0]["dated_on"] == "2021-05-01"
    assert all(e["commune"] == commune and e["category"] == "tet-gifts" for e in listed[1:])
    assert get(client, "/public/seasons/2022")["recorded_after_closing"] == []
    get(client, "/public/seasons/2030", expect=404)
    # The leaf says it was recorded after closing; the reason stays sealed everywhere public.
    found = get(client, f"/public/donations/{made[0]['reference']}")
    assert json.loads(base64.b64decode(found["leaf"]))["public"]["recorded_after_closing"] == "2021"
    page = client.get("/seasons/2021")
    assert page.status_code == 200 and "Ghi sau khi khoá sổ" in page.text
    assert made[0]["reference"] in page.text
    for text in (json.dumps(public, ensure_ascii=False), json.dumps(found, ensure_ascii=False),
                 page.text):
        assert reason not in text
    assert client.get("/seasons/2030").status_code == 404
    # Reversed later, it stays listed, marked.
    undone = post(client, "/reversals", admin, {"target_id": made[3]["id"], "reason": "ghi nhầm"})
    after = get(client, "/public/seasons/2021", after=undone["position"])["recorded_after_closing"]
    assert [e["reversed"] for e in after] == [False, False, False, True]


def test_a_child_who_moved_is_transferred_and_their_support_follows_them(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, officer, other = tokens["finance"], tokens["district"], tokens["district_other"]
    first, second = districts(services)[:2]
    here, there = communes(services, first)[:2]
    abroad = communes(services, second)[0]
    receipt(client, fin, donor(client, fin), 9_000_000)
    for commune in (here, there, abroad):
        post(client, "/allocations", fin, _allocation(commune))
    child = post(client, "/children", officer, {"commune": here, "full_name": "Lò Thị Mai",
                                                "birth_year": 2015})
    post(client, "/distributions", officer, _distribution(here, child["id"]))

    # Support is given where the child lives: first the move is recorded.
    assert post(client, "/distributions", officer, _distribution(there, child["id"]),
                expect=422)["code"] == "child_in_another_commune"
    move = {"commune": there, "reason": "Gia đình chuyển đến thôn mới"}
    head = _head(services)
    assert post(client, f"/children/{child['id']}/transfer", other, {**move, "commune": abroad},
                expect=404)["code"] == "not_found"  # another district's child is unknown there
    assert post(client, f"/children/{child['id']}/transfer", officer, {**move, "commune": abroad},
                expect=403)["code"] == "forbidden"  # a move out of the district is finance's
    assert post(client, f"/children/{child['id']}/transfer", officer, {**move, "commune": here},
                expect=422)["code"] == "validation_error"  # already there
    assert post(client, f"/children/{child['id']}/transfer", officer, {"commune": there},
                expect=422)["code"] == "validation_error"  # no reason
    assert post(client, f"/children/{child['id']}/transfer", tokens["auditor"], move,
                expect=403)["code"] == "forbidden"
    assert _head(services) == head
    post(client, f"/children/{child['id']}/transfer", officer, move)

    # The support of the season moved with the child: the same again needs a reason.
    problem = post(client, "/distributions", officer, _distribution(there, child["id"]), expect=409)
    assert problem["code"] == "duplicate_support"
    post(client, "/distributions", officer,
         _distribution(there, child["id"], duplicate_reason="Nhà bị cháy, cấp lại"))
    after = get(client, "/children", officer, commune=there, q=child["code"], after=_head(services))
    assert [(c["id"], c["commune"]) for c in after["items"]] == [(child["id"], there)]
    assert get(client, "/children", officer, commune=here, q="Lò Thị Mai",
               after=_head(services))["items"] == []
    assert [c["id"] for c in get(client, "/children", officer, commune=there, q="LO THI MAI",
                                 after=_head(services))["items"]] == [child["id"]]
    history = get(client, f"/children/{child['id']}/history", officer, after=_head(services))
    assert history["commune"] == there
    assert [(s["commune"], s["reversed"]) for s in history["support"]] == [(here, False), (there, False)]

    # Finance moves a child to another district; the first officer no longer sees them.
    moved = post(client, f"/children/{child['id']}/transfer", fin, {**move, "commune": abroad})
    assert client.get(f"{API}/children/{child['id']}/history", params={"after": moved["position"]},
                      headers=auth(officer)).status_code == 404
    assert len(get(client, f"/children/{child['id']}/history", other,
                   after=moved["position"])["support"]) == 2
    assert post(client, "/distributions", other, _distribution(abroad, child["id"]),
                expect=409)["code"] == "duplicate_support"
