"""Four eyes on large sums (issue 12, item 8), through HTTP, on SQLite and PostgreSQL.

An allocation or a reversal above MINHBACH_FOUR_EYES_VND (100.000.000 ₫ by default) is answered
202 with a proposal; it takes effect only when another finance or admin approves it, with every
rule checked again then. Until then it moves no money anywhere: balances, the public summary
and the public pages stay as they were, and its events' leaves publish nothing."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.tokens import create_token
from domain.allocations import Allocation
from domain.proposals import FOUR_EYES_VND
from ledger.audit import verify
from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, communes, donor, get, post, receipt

LARGE_VND = 150_000_000
SEASON = "2021"


def allocation(commune: str, amount_vnd: int = LARGE_VND, **extra: Any) -> dict[str, Any]:
    return {"fund": "campaign", "season": SEASON, "commune": commune, "category": "other",
            "amount_vnd": amount_vnd, "decision_ref": "QĐ 99/QĐ-UBND", **extra}


def head(services: CompositionRoot) -> int:
    return services.ledger.recorder.max_notification_id() or 0


def problem(client: TestClient, path: str, token: str, body: dict[str, Any], status: int,
            code: str, **headers: str) -> None:
    response = client.post(API + path, json=body, headers={**auth(token), **headers})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def allocations_in_log(services: CompositionRoot) -> list[Any]:
    made = vars(Allocation)["Made"]
    return [e for n in services.ledger.recorder.select_notifications(start=1, limit=100_000)
            if (e := services.ledger.mapper.to_domain_event(n)) and isinstance(e, made)]


@pytest.fixture
def commune(services: CompositionRoot) -> str:
    return communes(services)[0]


@pytest.fixture
def funded(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    """A campaign receipt of 200.000.000 ₫, recorded by finance."""
    return receipt(client, tokens["finance"], donor(client, tokens["finance"]), 200_000_000)


def test_the_default_amount_is_the_design_s(services: CompositionRoot) -> None:
    assert services.settings.four_eyes_vnd == FOUR_EYES_VND == 100_000_000
    assert services.ledger.four_eyes_vnd == FOUR_EYES_VND


def test_up_to_the_amount_an_allocation_takes_effect_at_once(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    made = post(client, "/allocations", tokens["finance"], allocation(commune, FOUR_EYES_VND))
    assert made["amount_vnd"] == FOUR_EYES_VND and "status" not in made
    assert get(client, "/proposals", tokens["finance"], after=made["position"])["items"] == []


def test_above_the_amount_it_waits_for_a_second_person(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    before = get(client, "/public/summary", after=funded["position"])
    response = client.post(API + "/allocations", json=allocation(commune, note="chờ duyệt"),
                           headers=auth(fin))
    assert response.status_code == 202, response.text
    proposed = response.json()
    assert proposed["status"] == "proposed" and proposed["kind"] == "allocation"
    assert proposed["id"] == proposed["proposal_id"] and proposed["amount_vnd"] == LARGE_VND

    # Pending: nothing allocated, anywhere.
    at = proposed["position"]
    assert get(client, "/public/summary", after=at) == before
    [fund] = get(client, "/balances/funds", fin, after=at)["items"]
    assert (fund["allocated_vnd"], fund["available_vnd"]) == (0, 200_000_000)
    assert get(client, "/balances/programmes", fin)["items"] == []
    assert get(client, f"/public/donations/{funded['reference']}")["allocations"] == []
    assert allocations_in_log(services) == []
    [listed] = get(client, "/proposals", tokens["auditor"], status="pending")["items"]
    assert (listed["id"], listed["kind"], listed["status"], listed["amount_vnd"],
            listed["proposer"], listed["proposer_role"]) == (
        proposed["id"], "allocation", "pending", LARGE_VND, "finance", "finance")
    assert listed["arguments"]["commune"] == commune and listed["arguments"]["note"] == "chờ duyệt"
    assert listed["created_at"] and listed["decided_by"] is None
    # Nothing of a proposal is public: its leaf is null.
    events = get(client, "/audit/events", tokens["auditor"], after=at - 1, limit=1)["items"]
    assert events[0]["topic"].endswith("Proposal.Proposed")
    assert json.loads(base64.b64decode(events[0]["leaf"]))["public"] is None

    approved = post(client, f"/proposals/{proposed['id']}/approve", admin,
                    {"reason": "đúng quyết định"})
    assert (approved["status"], approved["proposal_id"], approved["amount_vnd"]) == (
        "approved", proposed["id"], LARGE_VND)
    assert approved["drawn_from"] == [{"receipt_id": funded["id"], "amount_vnd": LARGE_VND,
                                       "quantity": 0, "item": None, "unit": None}]
    [fund] = get(client, "/balances/funds", fin, after=approved["position"])["items"]
    assert (fund["allocated_vnd"], fund["available_vnd"]) == (LARGE_VND, 50_000_000)
    assert get(client, "/public/summary")["allocated_vnd"] == LARGE_VND
    # The allocation's events name the approver as their actor, and who proposed it.
    [made] = allocations_in_log(services)
    assert str(made.originator_id) == approved["id"]
    assert made.meta["actor"] == "admin" and made.meta["note"] == "chờ duyệt"
    assert made.meta["proposal"] == {"id": UUID(proposed["id"]), "proposed_by": "finance"}
    [done] = get(client, "/proposals", fin)["items"]
    assert (done["status"], done["decided_by"], done["decision_reason"], done["result_id"]) == (
        "approved", "admin", "đúng quyết định", approved["id"])
    assert get(client, "/proposals", fin, status="pending")["items"] == []
    assert verify(services).ok  # the read model equals a rebuild; every leaf recomputes


def test_the_proposer_never_approves_and_only_finance_or_admin_decide(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    proposed = post(client, "/allocations", tokens["finance"], allocation(commune), expect=202)
    path = f"/proposals/{proposed['id']}"
    at = head(services)
    problem(client, path + "/approve", tokens["finance"], {}, 403, "same_person")
    for caller in ("district", "auditor"):
        problem(client, path + "/approve", tokens[caller], {}, 403, "forbidden")
        problem(client, path + "/reject", tokens[caller], {"reason": "không"}, 403, "forbidden")
    assert client.post(API + path + "/approve", json={}).status_code == 401
    assert head(services) == at, "a refused decision recorded something"
    get(client, "/proposals", tokens["district"], expect=403)
    # Another finance officer may approve.
    other = create_token(services.db, name="finance-2", role="finance")
    assert post(client, path + "/approve", other, {})["status"] == "approved"


def test_a_rejection_needs_a_reason_and_a_proposal_is_decided_once(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    proposed = post(client, "/allocations", tokens["finance"], allocation(commune), expect=202)
    path = f"/proposals/{proposed['id']}"
    problem(client, path + "/reject", tokens["admin"], {}, 422, "validation_error")
    problem(client, path + "/reject", tokens["admin"], {"reason": " "}, 422, "validation_error")
    rejected = post(client, path + "/reject", tokens["admin"], {"reason": "sai xã"})
    assert (rejected["id"], rejected["status"]) == (proposed["id"], "rejected")
    at = head(services)
    problem(client, path + "/approve", tokens["admin"], {}, 409, "already_decided")
    problem(client, path + "/reject", tokens["admin"], {"reason": "lần nữa"}, 409, "already_decided")
    # The proposer hears that they may not, whatever happened meanwhile.
    problem(client, path + "/approve", tokens["finance"], {}, 403, "same_person")
    assert head(services) == at
    [row] = get(client, "/proposals", tokens["finance"], status="rejected", after=at)["items"]
    assert (row["decided_by"], row["decision_reason"], row["result_id"]) == ("admin", "sai xã", None)
    assert allocations_in_log(services) == []
    unknown = "00000000-0000-4000-8000-000000000000"
    problem(client, f"/proposals/{unknown}/approve", tokens["admin"], {}, 404, "not_found")


def test_a_proposer_may_withdraw_their_own_proposal(
        client: TestClient, tokens: dict[str, str], commune: str, funded: dict[str, Any]) -> None:
    proposed = post(client, "/allocations", tokens["finance"], allocation(commune), expect=202)
    withdrawn = post(client, f"/proposals/{proposed['id']}/reject", tokens["finance"],
                     {"reason": "tôi nhập nhầm"})
    assert withdrawn["status"] == "rejected"


def test_approval_checks_the_rules_again_and_leaves_the_proposal_pending(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    proposed = post(client, "/allocations", fin, allocation(commune), expect=202)
    # Meanwhile 90.000.000 ₫ of the 200.000.000 go elsewhere (below the amount: at once).
    post(client, "/allocations", fin, allocation(communes(services)[1], 90_000_000))
    at = head(services)
    problem(client, f"/proposals/{proposed['id']}/approve", admin, {}, 409, "insufficient_funds")
    assert head(services) == at
    [pending] = get(client, "/proposals", fin, status="pending", after=at)["items"]
    assert pending["id"] == proposed["id"]
    # More money arrives: the same proposal can be approved now.
    receipt(client, fin, donor(client, fin, "Công ty Hoà Bình"), 50_000_000)
    assert post(client, f"/proposals/{proposed['id']}/approve", admin, {})["amount_vnd"] == LARGE_VND


def test_an_approval_is_idempotent_under_its_key(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    proposed = post(client, "/allocations", tokens["finance"], allocation(commune), expect=202,
                    **{"Idempotency-Key": "de-xuat-1"})
    again = post(client, "/allocations", tokens["finance"], allocation(commune), expect=202,
                 **{"Idempotency-Key": "de-xuat-1"})
    assert again == proposed
    path = f"/proposals/{proposed['id']}/approve"
    first = post(client, path, tokens["admin"], {"reason": "ok"}, **{"Idempotency-Key": "duyet-1"})
    at = head(services)
    replay = post(client, path, tokens["admin"], {"reason": "ok"}, **{"Idempotency-Key": "duyet-1"})
    assert replay == first and head(services) == at
    problem(client, path, tokens["admin"], {"reason": "khác"}, 422, "idempotency_key_reused",
            **{"Idempotency-Key": "duyet-1"})
    problem(client, path, tokens["admin"], {"reason": "ok"}, 409, "already_decided",
            **{"Idempotency-Key": "duyet-2"})
    assert len(allocations_in_log(services)) == 1


def test_large_reversals_wait_too_and_a_pledge_cancellation_never_does(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    response = client.post(API + "/reversals", json={"target_id": funded["id"], "reason": "nhầm quỹ"},
                           headers=auth(fin))
    assert response.status_code == 202, response.text
    proposed = response.json()
    assert (proposed["kind"], proposed["amount_vnd"]) == ("reversal", 200_000_000)
    [fund] = get(client, "/balances/funds", fin, after=proposed["position"])["items"]
    assert fund["received_vnd"] == 200_000_000  # not reversed while pending
    [row] = get(client, "/proposals", fin)["items"]
    assert row["arguments"] == {"target_id": funded["id"], "target": "receipt", "reason": "nhầm quỹ"}
    done = post(client, f"/proposals/{proposed['id']}/approve", admin, {})
    assert (done["target_id"], done["status"], done["kind"]) == (funded["id"], "approved", "reversal")
    assert get(client, "/balances/funds", fin, after=done["position"])["items"][0]["received_vnd"] == 0
    # Reversed already: a second proposal for it is refused at once, as a reversal would be.
    problem(client, "/reversals", fin, {"target_id": funded["id"], "reason": "lại"}, 409,
            "already_reversed")

    giver = donor(client, fin, "Tập đoàn Sông Hồng")
    pledge = post(client, "/pledges", fin, {"donor_id": giver, "amount_vnd": 500_000_000})
    cancelled = post(client, "/reversals", fin, {"target_id": pledge["id"], "reason": "rút"})
    assert cancelled["target_id"] == pledge["id"]


def test_a_large_allocation_reversal_waits_and_gives_the_money_back_once_approved(
        client: TestClient, tokens: dict[str, str], commune: str, funded: dict[str, Any]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    proposed = post(client, "/allocations", fin, allocation(commune), expect=202)
    made = post(client, f"/proposals/{proposed['id']}/approve", admin, {})
    undo = post(client, "/reversals", fin, {"target_id": made["id"], "reason": "sai"}, expect=202)
    assert (undo["kind"], undo["amount_vnd"]) == ("reversal", LARGE_VND)
    # Finance proposed the reversal: another person approves it.
    problem(client, f"/proposals/{undo['id']}/approve", fin, {}, 403, "same_person")
    done = post(client, f"/proposals/{undo['id']}/approve", admin, {})
    [fund] = get(client, "/balances/funds", fin, after=done["position"])["items"]
    assert (fund["allocated_vnd"], fund["returned_vnd"], fund["available_vnd"]) == (
        LARGE_VND, LARGE_VND, 200_000_000)


def test_goods_wait_by_the_value_fifo_planning_gives_them(
        client: TestClient, tokens: dict[str, str], commune: str) -> None:
    fin = tokens["finance"]
    giver = donor(client, fin, "Công ty May Việt")
    goods = {"item": "Áo ấm trẻ em", "unit": "chiếc", "quantity": 1_200, "unit_value_vnd": 200_000}
    post(client, "/receipts", fin, {"donor_id": giver, "fund": "campaign",
                                    "received_on": "2021-03-01", "channel": "in_kind",
                                    "in_kind": goods})
    body = {"fund": "campaign", "season": SEASON, "commune": commune, "category": "warm-clothing",
            "decision_ref": "QĐ 5", "in_kind": {"item": "Áo ấm trẻ em", "unit": "chiếc", "quantity": 500}}
    assert post(client, "/allocations", fin, body)["amount_vnd"] == 100_000_000  # at once
    more = {**body, "in_kind": {"item": "Áo ấm trẻ em", "unit": "chiếc", "quantity": 501}}
    proposed = post(client, "/allocations", fin, more, expect=202)
    assert proposed["amount_vnd"] == 100_200_000
    made = post(client, f"/proposals/{proposed['id']}/approve", tokens["admin"], {})
    assert made["drawn_from"][0]["quantity"] == 501


def test_the_list_pages_and_reads_its_writes(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], commune: str,
        funded: dict[str, Any]) -> None:
    fin = tokens["finance"]
    ids = [post(client, "/allocations", fin, allocation(commune, 101_000_000 + n),
                expect=202)["id"] for n in range(3)]
    first = get(client, "/proposals", fin, limit=2, after=head(services))
    assert [p["id"] for p in first["items"]] == ids[:2] and first["next_cursor"]
    rest = get(client, "/proposals", fin, limit=2, cursor=first["next_cursor"])
    assert [p["id"] for p in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    assert client.get(API + "/proposals", params={"status": "spent"},
                      headers=auth(fin)).status_code == 422
    assert client.get(API + "/proposals").status_code == 401
    assert UUID(ids[0])
