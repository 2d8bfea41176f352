"""Earmarks follow pledges, and a cancelled pledge keeps its paid part (issue 12, items 4 and 7),
through HTTP, on SQLite and on PostgreSQL.

A receipt naming a pledge carries the pledge's restriction: given none, it takes it; given
another, it is refused (422 `restriction_mismatch`) and nothing is recorded; and money so
earmarked is never allocated elsewhere. A pledge cancelled after a part was paid still counts
as pledged for that part, wherever the pledged figure is shown, and nothing of it is outstanding.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from adapters.statements import write_csv
from domain.text import format_vnd
from ledger.bootstrap import CompositionRoot
from tests.api.test_bank import ACCOUNT, statement
from tests.helpers import API, auth, donor, get, post, receipt

CATEGORY, OTHER_CATEGORY = "warm-clothing", "tet-gifts"


def two_communes(services: CompositionRoot) -> tuple[str, str, str]:
    """A district and two of its communes."""
    for district in (a.code for a in services.areas.all() if a.kind == "district"):
        inside = [c.code for c in services.areas.communes(district) if c.extremely_difficult]
        if len(inside) >= 2:
            return district, inside[0], inside[1]
    raise AssertionError("the area tree has no district with two communes")


def restricted_pledge(client: TestClient, fin: str, donor_id: str, commune: str,
                      amount_vnd: int = 10_000_000) -> str:
    made = post(client, "/pledges", fin, {"donor_id": donor_id, "amount_vnd": amount_vnd,
                                          "restriction": {"commune": commune, "category": CATEGORY}})
    return str(made["id"])


def allocation(commune: str, category: str, amount_vnd: int) -> dict[str, Any]:
    return {"fund": "campaign", "season": "2021", "commune": commune, "category": category,
            "amount_vnd": amount_vnd, "decision_ref": "QĐ 12/QĐ-UBND"}


def test_a_receipt_for_a_pledge_takes_its_restriction_and_no_other(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    district, commune, elsewhere = two_communes(services)
    d = donor(client, fin)
    pledge = restricted_pledge(client, fin, d, commune)
    earmark = f"district={district}|commune={commune}|category={CATEGORY}"

    # Named without a restriction, the receipt takes the pledge's (its district included).
    paid = receipt(client, fin, d, 4_000_000, pledge_id=pledge)
    public = get(client, f"/public/donations/{paid['reference']}", after=paid["position"])
    assert public["restriction"] == earmark
    # The same restriction again, written without the district the commune implies: accepted.
    same = receipt(client, fin, d, 1_000_000, pledge_id=pledge,
                   restriction={"commune": commune, "category": CATEGORY})
    funds = get(client, "/balances/funds", fin, after=same["position"])["items"]
    assert [(f["restriction"], f["received_vnd"]) for f in funds] == [(earmark, 5_000_000)]

    # Anything else is refused with a stable code, the pledge's restriction named, and the log
    # does not move: elsewhere, another category, wider (the district only), or none of it.
    for other in ({"commune": elsewhere, "category": CATEGORY},
                  {"commune": commune, "category": OTHER_CATEGORY},
                  {"district": district, "category": CATEGORY},
                  {"commune": commune},
                  {"category": CATEGORY}):
        head = services.ledger.recorder.max_notification_id()
        refused = post(client, "/receipts", fin, {
            "donor_id": d, "fund": "campaign", "received_on": "2021-03-01", "channel": "bank",
            "amount_vnd": 2_000_000, "pledge_id": pledge, "restriction": other}, 422)
        assert refused["code"] == "restriction_mismatch", other
        assert f"commune={commune}" in refused["detail"] and f"category={CATEGORY}" in refused["detail"]
        assert services.ledger.recorder.max_notification_id() == head

    # The earmarked money pays for its own commune and category only.
    for commune_, category in ((elsewhere, CATEGORY), (commune, OTHER_CATEGORY)):
        refused = post(client, "/allocations", fin, allocation(commune_, category, 1_000_000), 409)
        assert refused["code"] == "insufficient_funds"
    drawn = post(client, "/allocations", fin, allocation(commune, CATEGORY, 5_000_000))
    assert {x["receipt_id"] for x in drawn["drawn_from"]} == {paid["id"], same["id"]}


def test_an_unrestricted_pledge_leaves_the_receipt_its_own_restriction(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    district, commune, elsewhere = two_communes(services)
    d = donor(client, fin)
    pledge = post(client, "/pledges", fin, {"donor_id": d, "amount_vnd": 3_000_000})["id"]
    paid = receipt(client, fin, d, 3_000_000, pledge_id=pledge, restriction={"commune": elsewhere})
    public = get(client, f"/public/donations/{paid['reference']}", after=paid["position"])
    assert public["restriction"] == f"district={district}|commune={elsewhere}"
    refused = post(client, "/allocations", fin, allocation(commune, CATEGORY, 1_000_000), 409)
    assert refused["code"] == "insufficient_funds"


def test_the_bank_path_and_the_receipt_path_earmark_alike(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    """A transfer that carries the pledge's payment code becomes a receipt with the pledge's
    restriction (ledger/bank_book.py): the same as `POST /receipts` naming the pledge."""
    fin = tokens["finance"]
    district, commune, _ = two_communes(services)
    d = donor(client, fin)
    made = post(client, "/pledges", fin, {"donor_id": d, "amount_vnd": 5_000_000,
                                          "restriction": {"commune": commune, "category": CATEGORY}})
    post(client, "/bank-accounts", fin, ACCOUNT)
    march = statement([("2021-03-02", 5_000_000, "FT21061000001", "NGUYEN VAN AN",
                        f"UNG HO {made['payment_code']}")])
    response = client.post(f"{API}/bank-accounts/{ACCOUNT['code']}/statements", headers=auth(fin),
                           files={"file": ("sao-ke.csv", write_csv(march))})
    assert response.status_code == 201, response.text
    assert response.json()["matched"] == 1
    funds = get(client, "/balances/funds", fin, after=response.json()["position"])["items"]
    assert [(f["restriction"], f["received_vnd"]) for f in funds] == [
        (f"district={district}|commune={commune}|category={CATEGORY}", 5_000_000)]


def test_a_cancelled_pledge_keeps_its_paid_part_everywhere_it_is_shown(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    d = donor(client, fin)
    other = donor(client, fin, "Công ty TNHH Hoà Bình")
    pledge = post(client, "/pledges", fin, {"donor_id": d, "amount_vnd": 10_000_000})["id"]
    standing = post(client, "/pledges", fin, {"donor_id": other, "amount_vnd": 2_000_000})["id"]
    first = receipt(client, fin, d, 3_000_000, pledge_id=pledge)
    second = receipt(client, fin, d, 1_000_000, pledge_id=pledge)
    receipt(client, fin, other, 500_000, pledge_id=standing)

    def shown(after: int) -> tuple[int, int, list[tuple[str, int]], int]:
        """Pledged: the donor's, the public summary's, and the ledger's total under its limit;
        the donor's outstanding pledges."""
        donor_view = get(client, f"/donors/{d}", fin, after=after)
        summary = get(client, "/public/summary", after=after)
        total, _, _ = services.queries.total("pledged")
        return (donor_view["pledged_vnd"], summary["pledged_vnd"],
                [(p["pledge_id"], p["outstanding_vnd"]) for p in donor_view["outstanding_pledges"]],
                total)

    assert shown(second["position"]) == (10_000_000, 12_000_000, [(pledge, 6_000_000)], 12_000_000)
    cancelled = post(client, "/reversals", fin, {"target_id": pledge, "reason": "rút cam kết"})
    # 4 of the 10 million were paid: those stay pledged; nothing more is due.
    assert shown(cancelled["position"]) == (4_000_000, 6_000_000, [], 6_000_000)
    # The other donor's standing pledge is still outstanding for what is left of it.
    assert get(client, f"/donors/{other}", fin)["outstanding_pledges"][0]["outstanding_vnd"] == 1_500_000
    # A receipt of the cancelled pledge reversed later: its part no longer counts.
    undone = post(client, "/reversals", fin, {"target_id": first["id"], "reason": "ghi nhầm"})
    assert shown(undone["position"]) == (1_000_000, 3_000_000, [], 3_000_000)
    # The public overview page shows the summary's figure.
    page = client.get("/")
    assert page.status_code == 200
    figure = re.search(r'id="total-pledged">([^<]*)<', page.text)
    assert figure is not None and figure[1] == format_vnd(3_000_000)
    # A receipt for the cancelled pledge is still refused.
    refused = post(client, "/receipts", fin, {
        "donor_id": d, "fund": "campaign", "received_on": "2021-03-01", "channel": "bank",
        "amount_vnd": 1_000_000, "pledge_id": pledge}, 422)
    assert refused["code"] == "validation_error"

    # Projected again from the start, and per event, the figures are the same.
    services.runner.rebuild()
    assert shown(undone["position"]) == (1_000_000, 3_000_000, [], 3_000_000)
