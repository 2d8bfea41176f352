"""The ledger through HTTP, end to end, on SQLite and on PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import communes, donor, get, post, receipt


def test_money_follows_from_receipt_to_child(client: TestClient, services: CompositionRoot,
                                             tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    d = donor(client, fin)
    r1 = receipt(client, fin, d, 1_000_000)
    r2 = receipt(client, fin, d, 2_000_000)
    assert r1["reference"].startswith("PT-2021-")
    alloc = post(client, "/allocations", fin, {
        "fund": "campaign", "season": "2021", "commune": commune, "category": "warm-clothing",
        "amount_vnd": 1_500_000, "decision_ref": "QĐ 12/QĐ-UBND"})
    # FIFO: the older receipt is used up first.
    assert [(x["receipt_id"], x["amount_vnd"]) for x in alloc["drawn_from"]] == [
        (r1["id"], 1_000_000), (r2["id"], 500_000)]
    child = post(client, "/children", fin, {"commune": commune, "full_name": "Hoàng Thị Mai",
                                             "birth_year": 2014})
    dist = post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "warm-clothing",
        "distributed_on": "2021-12-01",
        "lines": [{"child_id": child["id"], "description": "Áo ấm", "value_vnd": 1_200_000}]})

    funds = get(client, "/balances/funds", fin, after=dist["position"])["items"]
    assert funds == [{"fund": "campaign", "restriction": "", "received_vnd": 3_000_000,
                      "allocated_vnd": 1_500_000, "returned_vnd": 0, "available_vnd": 1_500_000,
                      "goods_value_vnd": 0}]
    [prog] = get(client, "/balances/programmes", fin, season="2021")["items"]
    assert (prog["allocated_vnd"], prog["distributed_vnd"], prog["remaining_vnd"],
            prog["children_reached"]) == (1_500_000, 1_200_000, 300_000, 1)

    history = get(client, f"/children/{child['id']}/history", fin)
    assert history["personal"]["full_name"] == "Hoàng Thị Mai"
    [support] = history["support"]
    assert [(p["reference"], p["amount_vnd"]) for p in support["paid_by"]] == [
        (r1["reference"], 1_000_000), (r2["reference"], 200_000)]

    public = get(client, f"/public/donations/{r2['reference']}")
    assert public["allocations"][0]["amount_vnd"] == 500_000
    assert public["distributions"][0]["amount_vnd"] == 200_000
    assert public["distributions"][0]["children"] == "< 5"
    assert "Hoàng" not in str(public)

    summary = get(client, "/public/summary", season="2021")
    assert (summary["received_vnd"], summary["allocated_vnd"], summary["distributed_vnd"]) == (
        3_000_000, 1_500_000, 1_200_000)
    # Trial balance: received = in funds + in programmes + distributed.
    in_funds = sum(f["available_vnd"] for f in funds)
    assert summary["received_vnd"] == in_funds + prog["remaining_vnd"] + prog["distributed_vnd"]


def test_reversals_put_money_back_and_happen_once(client: TestClient, services: CompositionRoot,
                                                  tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    d = donor(client, fin)
    r = receipt(client, fin, d, 1_000_000)
    alloc = post(client, "/allocations", fin, {
        "fund": "campaign", "season": "2021", "commune": commune, "category": "tet-gifts",
        "amount_vnd": 400_000, "decision_ref": "QĐ 1"})
    dist = post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "tet-gifts",
        "distributed_on": "2021-12-20", "beneficiaries_count": 20,
        "lines": [{"description": "Quà Tết cho 20 em", "value_vnd": 400_000}]})
    # Can't take back money that was handed out, nor a receipt that was allocated.
    refused = post(client, "/reversals", fin, {"target_id": alloc["id"], "reason": "nhầm"}, 409)
    assert refused["code"] == "insufficient_funds"
    assert post(client, "/reversals", fin, {"target_id": r["id"], "reason": "x"}, 409)["code"] == (
        "insufficient_funds")
    post(client, "/reversals", fin, {"target_id": dist["id"], "reason": "trả lại"})
    again = post(client, "/reversals", fin, {"target_id": dist["id"], "reason": "lần hai"}, 409)
    assert again["code"] == "already_reversed"
    post(client, "/reversals", fin, {"target_id": alloc["id"], "reason": "nhầm xã"})
    last = post(client, "/reversals", fin, {"target_id": r["id"], "reason": "trả lại nhà tài trợ"})
    funds = get(client, "/balances/funds", fin, after=last["position"])["items"]
    assert funds[0]["available_vnd"] == 0 and funds[0]["received_vnd"] == 0
    [prog] = get(client, "/balances/programmes", fin)["items"]
    assert prog["remaining_vnd"] == 0 and prog["children_reached"] == 0


def test_duplicate_support_needs_a_reason_and_is_counted(client: TestClient, services: CompositionRoot,
                                                         tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    receipt(client, fin, donor(client, fin), 1_000_000)
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "nutrition-health", "amount_vnd": 1_000_000,
                                       "decision_ref": "QĐ 2"})
    child = post(client, "/children", fin, {"commune": commune, "full_name": "Lộc Văn Bình",
                                             "birth_year": 2016})
    line = {"child_id": child["id"], "description": "Sữa", "value_vnd": 100_000}
    base = {"season": "2021", "commune": commune, "category": "nutrition-health",
            "distributed_on": "2021-05-01", "lines": [line]}
    post(client, "/distributions", fin, base)
    assert post(client, "/distributions", fin, base, 409)["code"] == "duplicate_support"
    second = post(client, "/distributions", fin, {**base, "duplicate_reason": "Ốm, cần thêm sữa"})
    assert second["overrides"] == 1
    summary = get(client, "/public/summary", after=second["position"])
    # One child supported twice: a count of persons below 5, published as such (small cells).
    assert summary["duplicate_overrides"] == "< 5"
    assert summary["children_reached"] == "< 5"


def test_idempotent_replay_returns_the_same_and_records_nothing(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    d = donor(client, fin)
    body = {"donor_id": d, "fund": "state-budget", "received_on": "2021-04-01", "channel": "cash",
            "amount_vnd": 5_000_000}
    first = post(client, "/receipts", fin, body, **{"Idempotency-Key": "k-1"})
    events = services.ledger.recorder.max_notification_id()
    again = post(client, "/receipts", fin, body, **{"Idempotency-Key": "k-1"})
    assert again == first
    assert services.ledger.recorder.max_notification_id() == events
    other = post(client, "/receipts", fin, {**body, "amount_vnd": 6_000_000}, 422,
                 **{"Idempotency-Key": "k-1"})
    assert other["code"] == "idempotency_key_reused"
    assert services.ledger.recorder.max_notification_id() == events


def test_bad_input_is_a_problem_and_changes_nothing(client: TestClient, services: CompositionRoot,
                                                    tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    d = donor(client, fin)
    before = services.ledger.recorder.max_notification_id()
    for bad in ({"amount_vnd": 1.5}, {"amount_vnd": 0}, {"amount_vnd": 10**15 + 1},
                {"amount_vnd": "100"}, {"fund": "nowhere"}, {"received_on": "2021-02-30"}):
        body = {"donor_id": d, "fund": "campaign", "received_on": "2021-03-01",
                "channel": "bank", "amount_vnd": 100, **bad}
        response = client.post("/api/v1/receipts", json=body,
                               headers={"Authorization": f"Bearer {fin}"})
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
    assert post(client, "/allocations", fin, {
        "fund": "campaign", "season": "2021", "commune": communes(services)[0],
        "category": "other", "amount_vnd": 1, "decision_ref": "x"}, 409)["code"] == "insufficient_funds"
    assert services.ledger.recorder.max_notification_id() == before
    bank = {"bank_txn_id": "FT21001"}
    receipt(client, fin, d, 100, **bank)
    again = post(client, "/receipts", fin, {"donor_id": d, "fund": "campaign",
                                            "received_on": "2021-03-01", "channel": "bank",
                                            "amount_vnd": 100, **bank}, 409)
    assert again["code"] == "already_recorded"


def test_restricted_money_only_goes_where_the_donor_said(client: TestClient, services: CompositionRoot,
                                                         tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    here, there = communes(services)[:2]
    d = donor(client, fin, anonymous=True)
    restricted = receipt(client, fin, d, 700_000, restriction={"commune": here,
                                                               "category": "warm-clothing"})
    free = receipt(client, fin, d, 300_000)
    refused = post(client, "/allocations", fin, {
        "fund": "campaign", "season": "2021", "commune": there, "category": "warm-clothing",
        "amount_vnd": 500_000, "decision_ref": "QĐ 3"}, 409)
    assert refused["code"] == "insufficient_funds"
    alloc = post(client, "/allocations", fin, {
        "fund": "campaign", "season": "2021", "commune": here, "category": "warm-clothing",
        "amount_vnd": 800_000, "decision_ref": "QĐ 4"})
    # The most specific money goes first, unrestricted money last.
    assert [(x["receipt_id"], x["amount_vnd"]) for x in alloc["drawn_from"]] == [
        (restricted["id"], 700_000), (free["id"], 100_000)]
    listed = get(client, "/public/donations", after=alloc["position"])["items"]
    assert {x["donor"] for x in listed} == {"Ẩn danh"}
    assert get(client, "/public/donations", q="nguyen")["items"] == []


def test_a_reversed_bank_receipt_frees_its_transaction_for_the_correction(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    d = donor(client, fin)
    wrong = receipt(client, fin, d, 900_000, fund="state-budget", bank_txn_id="FT21777")
    assert post(client, "/receipts", fin, {
        "donor_id": d, "fund": "campaign", "received_on": "2021-03-01", "channel": "bank",
        "amount_vnd": 900_000, "bank_txn_id": "FT21777"}, 409)["code"] == "already_recorded"
    post(client, "/reversals", fin, {"target_id": wrong["id"], "reason": "nhầm quỹ"})
    fixed = receipt(client, fin, d, 900_000, fund="campaign", bank_txn_id="FT21777")
    funds = get(client, "/balances/funds", fin, after=fixed["position"])["items"]
    assert {f["fund"]: f["available_vnd"] for f in funds} == {"campaign": 900_000,
                                                              "state-budget": 0}
