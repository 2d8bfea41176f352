"""Goods are an item and a unit (issue 12, item 5), through HTTP, on SQLite and PostgreSQL.

"Áo ấm" by the piece and by the box of 20 are two items: neither pays for the other. Names are
compared without regard to case, diacritics or spacing. `GET /balances/stock` shows the goods in
stock per item and unit at the fund and the programme level, and the balances show money and
goods apart, so that the money shown as available can be allocated as money.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import communes, donor, get, post, receipt

SEASON, CATEGORY = "2021", "warm-clothing"


def goods_receipt(client: TestClient, fin: str, donor_id: str, item: str, unit: str,
                  quantity: int, unit_value_vnd: int, fund: str = "campaign") -> dict[str, Any]:
    return post(client, "/receipts", fin, {
        "donor_id": donor_id, "fund": fund, "received_on": "2021-03-01", "channel": "in_kind",
        "in_kind": {"item": item, "unit": unit, "quantity": quantity,
                    "unit_value_vnd": unit_value_vnd}})


def allocate_goods(client: TestClient, fin: str, commune: str, item: str, unit: str,
                   quantity: int, expect: int = 201) -> dict[str, Any]:
    return post(client, "/allocations", fin, {
        "fund": "campaign", "season": SEASON, "commune": commune, "category": CATEGORY,
        "in_kind": {"item": item, "unit": unit, "quantity": quantity},
        "decision_ref": "QĐ 12/QĐ-UBND"}, expect=expect)


def allocate_money(client: TestClient, fin: str, commune: str, amount_vnd: int,
                   expect: int = 201) -> dict[str, Any]:
    return post(client, "/allocations", fin, {
        "fund": "campaign", "season": SEASON, "commune": commune, "category": CATEGORY,
        "amount_vnd": amount_vnd, "decision_ref": "QĐ 12/QĐ-UBND"}, expect=expect)


def distribute(client: TestClient, token: str, commune: str, lines: list[dict[str, Any]],
               expect: int = 201) -> dict[str, Any]:
    return post(client, "/distributions", token, {
        "season": SEASON, "commune": commune, "category": CATEGORY,
        "distributed_on": "2021-11-01", "lines": lines, "beneficiaries_count": 20}, expect=expect)


def stock(client: TestClient, token: str, position: int, **filters: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get(client, "/balances/stock", token, after=position,
                                      **filters)["items"]
    return items


def test_by_the_piece_and_by_the_box_are_two_items(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    d = donor(client, fin)
    goods_receipt(client, fin, d, "Áo ấm", "cái", 30, 150_000)
    goods_receipt(client, fin, d, "Áo ấm", "thùng", 2, 3_000_000)  # a box of 20

    # Only the pieces pay for pieces; only boxes for boxes, whatever the case and accents.
    pieces = allocate_goods(client, fin, commune, "ÁO ẤM", "chiếc", 30)
    assert pieces["amount_vnd"] == 30 * 150_000
    assert [(d["quantity"], d["unit"]) for d in pieces["drawn_from"]] == [(30, "cái")]
    refused = allocate_goods(client, fin, commune, "Áo ấm", "cái", 1, expect=409)
    assert refused["code"] == "insufficient_funds"
    boxes = allocate_goods(client, fin, commune, "ao am", "Thùng", 1)
    assert boxes["amount_vnd"] == 3_000_000

    # A child given "1 Áo ấm" by the piece gets a piece's worth, never a box.
    child = post(client, "/children", fin, {"commune": commune, "full_name": "Hoàng Thị Mai",
                                           "birth_year": 2015})["id"]
    given = distribute(client, fin, commune, [{"child_id": child, "description": "Áo ấm",
                                              "item": "áo ấm", "unit": "CÁI", "quantity": 1}])
    assert given["total_vnd"] == 150_000
    # More pieces than came in are refused, though a box is still there.
    too_many = distribute(client, fin, commune, [{"description": "Áo ấm", "item": "Áo ấm",
                                                 "unit": "cái", "quantity": 30}], expect=409)
    assert too_many["code"] == "insufficient_funds"
    assert "thùng" in too_many["detail"]
    # The box goes out as a box.
    box = distribute(client, fin, commune, [{"description": "Áo ấm (thùng 20 chiếc)",
                                            "item": "Áo ấm", "unit": "thùng", "quantity": 1}])
    assert box["total_vnd"] == 3_000_000

    history = get(client, f"/children/{child}/history", fin, after=box["position"])["support"]
    assert [(s["item"], s["unit"], s["quantity"], s["value_vnd"]) for s in history] == [
        ("áo ấm", "CÁI", 1, 150_000)]


def test_goods_need_a_unit_and_nothing_is_recorded_without_one(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    d = donor(client, fin)
    made = goods_receipt(client, fin, d, "Chăn", "cái", 5, 200_000)
    head = services.ledger.recorder.max_notification_id()
    no_unit = post(client, "/allocations", fin, {
        "fund": "campaign", "season": SEASON, "commune": commune, "category": CATEGORY,
        "in_kind": {"item": "Chăn", "quantity": 1}, "decision_ref": "QĐ 1"}, expect=422)
    assert no_unit["code"] == "validation_error"
    assert services.ledger.recorder.max_notification_id() == head
    allocate_goods(client, fin, commune, "Chăn", "cái", 5)
    head = services.ledger.recorder.max_notification_id()
    line = distribute(client, fin, commune, [{"description": "Chăn", "item": "Chăn",
                                             "quantity": 1}], expect=422)
    assert line["code"] == "validation_error"
    assert services.ledger.recorder.max_notification_id() == head
    assert made["reference"]


def test_stock_per_item_and_unit_at_the_fund_and_the_programme(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune, other = communes(services)[:2]
    d = donor(client, fin)
    goods_receipt(client, fin, d, "Áo ấm", "cái", 30, 150_000)
    goods_receipt(client, fin, d, "ÁO  ẤM", "chiếc", 10, 100_000)  # the same item, first name kept
    goods_receipt(client, fin, d, "Áo ấm", "thùng", 2, 3_000_000)
    allocate_goods(client, fin, commune, "ao am", "cai", 35)
    reversed_one = allocate_goods(client, fin, other, "Áo ấm", "thùng", 1)
    post(client, "/reversals", fin, {"target_id": reversed_one["id"], "reason": "nhầm xã"})
    done = distribute(client, fin, commune, [{"description": "Áo ấm", "item": "Áo ấm",
                                             "unit": "cái", "quantity": 12}])

    rows = stock(client, tokens["auditor"], done["position"])
    funds = [r for r in rows if r["level"] == "fund"]
    assert [(r["fund"], r["restriction"], r["item"], r["unit"], r["received_quantity"],
             r["allocated_quantity"], r["in_stock_quantity"], r["value_vnd"]) for r in funds] == [
        ("campaign", "", "Áo ấm", "cái", 40, 35, 5, 5 * 100_000),
        ("campaign", "", "Áo ấm", "thùng", 2, 0, 2, 6_000_000),
    ]
    programmes = [r for r in rows if r["level"] == "programme"]
    # The reversed allocation's programme holds nothing any more: it is left out.
    assert [(r["season"], r["commune"], r["category"], r["item"], r["unit"],
             r["allocated_quantity"], r["distributed_quantity"], r["in_stock_quantity"],
             r["value_vnd"]) for r in programmes] == [
        (SEASON, commune, CATEGORY, "Áo ấm", "cái", 35, 12, 23,
         30 * 150_000 + 5 * 100_000 - 12 * 150_000),
    ]
    assert all(r["received_quantity"] is None for r in programmes)
    assert all(r["distributed_quantity"] is None for r in funds)

    # Filters: a programme's place leaves the fund level out; a fund keeps both levels.
    assert stock(client, fin, done["position"], commune=commune) == programmes
    assert stock(client, fin, done["position"], commune=other) == []
    assert stock(client, fin, done["position"], level="fund") == funds
    assert stock(client, fin, done["position"], fund="campaign") == rows
    assert stock(client, fin, done["position"], fund="state-budget") == []
    bad = get(client, "/balances/stock", fin, expect=422, level="warehouse")
    assert bad["code"] == "validation_error"
    # Staff and auditors only.
    assert client.get("/api/v1/balances/stock").status_code == 401

    # The rebuild gives the same rows.
    services.runner.rebuild()
    assert stock(client, fin, done["position"]) == rows


def test_goods_are_not_shown_as_money_that_can_be_allocated(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    """The issue's case: 6,000,000 ₫ of goods and 1,500,000 ₫ of money in a fund showed as
    7,500,000 ₫ available while a 2,000,000 ₫ money allocation was refused."""
    fin = tokens["finance"]
    commune = communes(services)[0]
    d = donor(client, fin)
    goods_receipt(client, fin, d, "Áo ấm", "thùng", 2, 3_000_000)
    money = receipt(client, fin, d, 1_500_000)
    (fund,) = get(client, "/balances/funds", fin, after=money["position"])["items"]
    assert fund["received_vnd"] == 7_500_000
    assert fund["goods_value_vnd"] == 6_000_000
    assert fund["available_vnd"] == 1_500_000

    # What shows as available money can be allocated as money, and no more.
    refused = allocate_money(client, fin, commune, fund["available_vnd"] + 1, expect=409)
    assert refused["code"] == "insufficient_funds"
    allocated = allocate_money(client, fin, commune, fund["available_vnd"])
    boxes = allocate_goods(client, fin, commune, "Áo ấm", "thùng", 1)
    (fund,) = get(client, "/balances/funds", fin, after=boxes["position"])["items"]
    assert (fund["available_vnd"], fund["goods_value_vnd"]) == (0, 3_000_000)
    assert allocated["amount_vnd"] == 1_500_000

    # The programme likewise: its money and its goods apart.
    (programme,) = get(client, "/balances/programmes", fin, after=boxes["position"])["items"]
    assert programme["allocated_vnd"] == 4_500_000
    assert (programme["remaining_vnd"], programme["goods_value_vnd"]) == (1_500_000, 3_000_000)
    too_much = distribute(client, fin, commune, [{"description": "tiền", "quantity": 1,
                                                 "value_vnd": 1_500_001}], expect=409)
    assert too_much["code"] == "insufficient_funds"
    distribute(client, fin, commune, [{"description": "tiền", "quantity": 1,
                                       "value_vnd": programme["remaining_vnd"]}])

    # Every đồng is still accounted for: received = funds (money + goods) + programmes + given.
    services.runner.catch_up()
    trial = services.queries.trial_balance()
    assert trial["received_vnd"] == (trial["in_funds_vnd"] + trial["in_programmes_vnd"]
                                     + trial["distributed_vnd"]) == 7_500_000
    assert trial["in_funds_vnd"] == 3_000_000
