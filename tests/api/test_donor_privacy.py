"""Donors are persons too (DESIGN §6): legal names and contacts sealed, erasable by crypto-shredding."""

from __future__ import annotations

from uuid import UUID

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import get, post, receipt
from tests.stored_values import stored_values

LEGAL = "Trần Bí Mật"
CONTACT = "0912 345 678 bimat@example.vn"
PUBLIC = "Một nhà hảo tâm"


def _leaks(services: CompositionRoot, *secrets: str) -> list[tuple[str, str]]:
    found = []
    for table, value in stored_values(services):
        text = value.decode("utf-8", "replace")
        found += [(table, s) for s in secrets if s in text]
    return found


def test_a_donors_legal_name_and_contact_are_sealed_and_shown_to_staff_only(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, auditor = tokens["finance"], tokens["auditor"]
    made = post(client, "/donors", fin, {"name": LEGAL, "kind": "individual", "public_name": PUBLIC,
                                         "contact": CONTACT})
    org = post(client, "/donors", fin, {"name": "Công ty TNHH Kín Đáo", "kind": "business",
                                        "contact": "ketoan@kindao.vn"})
    gift = receipt(client, fin, made["id"], 1_000_000)
    shown = get(client, f"/donors/{made['id']}", auditor, after=gift["position"])
    assert (shown["name"], shown["contact"], shown["public_name"], shown["erased"]) == (
        LEGAL, CONTACT, PUBLIC, False)
    assert get(client, f"/donors/{org['id']}", fin)["name"] == "Công ty TNHH Kín Đáo"
    assert get(client, f"/donors/{made['id']}", expect=401)["code"] == "unauthorized"
    # Nowhere in the log nor in any table, in clear: not the name, nor any contact. (The
    # business gave no public name: it is shown by its own, which is then public by its choice.)
    assert _leaks(services, LEGAL, CONTACT, "ketoan@kindao.vn") == []
    public = get(client, "/public/donations", after=gift["position"])["items"]
    assert [d["donor"] for d in public] == [PUBLIC]


def test_erasing_a_donor_shreds_the_name_and_contact_and_keeps_money_and_public_name(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    made = post(client, "/donors", fin, {"name": LEGAL, "kind": "individual", "public_name": PUBLIC,
                                         "contact": CONTACT})
    gift = receipt(client, fin, made["id"], 2_000_000)
    body = {"reason": "the donor asked (Law 91/2025, art. 16)"}
    refused = post(client, f"/donors/{made['id']}/erase", fin, body, expect=403)
    assert refused["code"] == "forbidden"
    erased = post(client, f"/donors/{made['id']}/erase", admin, body)
    assert erased["id"] == made["id"] and erased["position"] > gift["position"]
    again = post(client, f"/donors/{made['id']}/erase", admin, body, expect=409)
    assert again["code"] == "already_recorded"
    shown = get(client, f"/donors/{made['id']}", fin, after=erased["position"])
    assert (shown["name"], shown["contact"], shown["erased"]) == ("[đã xoá]", None, True)
    assert (shown["public_name"], shown["received_vnd"]) == (PUBLIC, 2_000_000)
    [public] = get(client, "/public/donations", after=erased["position"])["items"]
    assert (public["donor"], public["amount_vnd"], public["reference"]) == (
        PUBLIC, 2_000_000, gift["reference"])
    services.tree_heads.publish()  # the receipt's proof still stands after the erasure
    proof = get(client, f"/public/donations/{gift['reference']}")
    assert proof["proof"]["leaf_index"] >= 0 and proof["proof"]["leaf_hash"]
    # The key and the blind index are gone with it; the log says why, and nothing personal.
    assert services.db.query_one("SELECT * FROM donor_keys WHERE donor_id = ?", (made["id"],)) is None
    missing = post(client, "/donors/00000000-0000-4000-8000-000000000000/erase", admin, body, expect=404)
    assert missing["code"] == "not_found"
    assert post(client, f"/donors/{made['id']}/erase", admin, {"reason": ""}, expect=422)[
        "code"] == "validation_error"


def test_bank_matching_finds_a_donor_by_the_sealed_name_until_it_is_erased(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    made = post(client, "/donors", fin, {"name": LEGAL, "kind": "individual"})
    assert services.ledger.donors_named("tran bi mat") == [UUID(made["id"])]
    assert services.ledger.donors_named("tran bi") == []
    post(client, f"/donors/{made['id']}/erase", admin, {"reason": "asked"})
    assert services.ledger.donors_named("tran bi mat") == []
    assert services.ledger.donor_names([made["id"]]) == {}
