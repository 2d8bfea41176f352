"""Validation that fits the plan (issue 12, item 7), through HTTP on both databases: support only
for communes flagged extremely difficult (or an admin's override, counted publicly), children
under 16, seasons of real years, no distribution dated before its money, and coverage past 100 %
shown as it is."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import communes, donor, get, post, receipt

API = "/api/v1"


def _ineligible(services: CompositionRoot) -> str:
    return next(a.code for a in services.areas.communes() if not a.extremely_difficult)


def _allocation(commune: str, amount_vnd: int = 1_000_000, **extra: object) -> dict[str, object]:
    return {"fund": "campaign", "season": "2021", "commune": commune, "category": "warm-clothing",
            "amount_vnd": amount_vnd, "decision_ref": "QĐ 1557/QĐ-UBND", **extra}


def _need(commune: str, estimated_vnd: int = 1_000_000, **extra: object) -> dict[str, object]:
    return {"season": "2021", "commune": commune, "category": "warm-clothing",
            "children_count": 12, "estimated_vnd": estimated_vnd, **extra}


def test_only_extremely_difficult_communes_unless_an_admin_overrides(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    other = _ineligible(services)
    receipt(client, fin, donor(client, fin), 5_000_000)
    for path, body in (("/allocations", _allocation(other)), ("/needs", _need(other))):
        refused = post(client, path, fin, body, expect=422)
        assert refused["code"] == "commune_not_eligible"
        # Only an admin may override, and only with a reason.
        assert post(client, path, fin, {**body, "override_reason": "QĐ bổ sung"},
                    expect=422)["code"] == "commune_not_eligible"
        assert post(client, path, admin, body, expect=422)["code"] == "commune_not_eligible"
    before = get(client, "/public/summary", season="2021")
    assert (before["override_allocations"], before["override_allocations_vnd"]) == (0, 0)
    post(client, "/needs", admin, _need(other, override_reason="Xã mới sáp nhập, chờ công nhận"))
    made = post(client, "/allocations", admin, _allocation(
        other, 700_000, override_reason="Xã mới sáp nhập, chờ công nhận"))
    # An eligible commune needs no override; a reason given there is not counted as one.
    plain = post(client, "/allocations", admin, _allocation(communes(services)[0], 300_000,
                                                             override_reason="không cần"))
    summary = get(client, "/public/summary", season="2021", after=plain["position"])
    assert (summary["override_allocations"], summary["override_allocations_vnd"]) == (1, 700_000)
    # Reversed, the override no longer counts: its money is back in the fund.
    undone = post(client, "/reversals", fin, {"target_id": made["id"], "reason": "nhầm xã"})
    summary = get(client, "/public/summary", season="2021", after=undone["position"])
    assert (summary["override_allocations"], summary["override_allocations_vnd"]) == (0, 0)


def test_a_child_is_under_16_at_registration(client: TestClient, services: CompositionRoot,
                                             tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    this_year = services.ledger.dates.today().year
    for year in (this_year - 16, 1990, this_year + 1):
        refused = post(client, "/children", fin, {"commune": commune, "full_name": "Lò Văn A",
                                                  "birth_year": year}, expect=422)
        assert refused["code"] == "validation_error"
        assert str(year) not in refused["detail"] or year == this_year + 1
    for year in (this_year - 15, this_year):
        post(client, "/children", fin, {"commune": commune, "full_name": f"Lò Văn {year}",
                                        "birth_year": year})


def test_a_season_is_a_year_of_the_date_window(client: TestClient, services: CompositionRoot,
                                               tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    for season in ("0000", "1999", "2999", "0000-tet"):
        assert post(client, "/needs", fin, {**_need(commune), "season": season},
                    expect=422)["code"] == "validation_error"
    # A well-formed code names a season only once an admin opened it (tests/api/test_seasons.py).
    assert post(client, "/needs", fin, {**_need(commune), "season": "2021-tet"},
                expect=422)["code"] == "season_unknown"
    post(client, "/needs", fin, {**_need(commune), "season": "2022"})


def test_no_distribution_before_the_money_it_draws_on(client: TestClient, services: CompositionRoot,
                                                      tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    receipt(client, fin, donor(client, fin), 2_000_000)  # received 2021-03-01
    post(client, "/allocations", fin, _allocation(commune, 2_000_000))
    body = {"season": "2021", "commune": commune, "category": "warm-clothing",
            "lines": [{"description": "Áo ấm", "value_vnd": 500_000}], "beneficiaries_count": 5}
    for day in ("2021-01-01", "2021-02-28"):  # in the season, before the money
        refused = post(client, "/distributions", fin, {**body, "distributed_on": day}, expect=422)
        assert refused["code"] == "distributed_before_received"
    post(client, "/distributions", fin, {**body, "distributed_on": "2021-03-01"})


def test_coverage_past_100_percent_is_shown_and_flagged(client: TestClient, services: CompositionRoot,
                                                        tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    here, there = communes(services)[:2]
    receipt(client, fin, donor(client, fin), 5_000_000)
    post(client, "/needs", fin, _need(here, 1_000_000))
    post(client, "/needs", fin, _need(there, 4_000_000))
    post(client, "/allocations", fin, _allocation(here, 1_500_000))
    made = post(client, "/allocations", fin, _allocation(there, 1_000_000))
    rows = {r["commune"]: r for r in get(client, "/public/needs", season="2021",
                                         after=made["position"])["items"]}
    assert (rows[here]["covered_percent"], rows[here]["over_allocated"]) == (150, True)
    assert (rows[there]["covered_percent"], rows[there]["over_allocated"]) == (25, False)
    assert rows[here]["children_count"] == 12
    page = client.get("/needs", params={"season": "2021"})
    assert page.status_code == 200
    assert page.text.count("Vượt nhu cầu") == 1 and "150%" in page.text
