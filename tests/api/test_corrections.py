"""Corrections (issue 12): a donor, a child or a need is corrected by a new event with a reason;
the public shows the corrected public name, the leaves keep what was recorded, histories both."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from domain.children import Child
from domain.donors import Donor
from domain.meta import Context
from domain.small_cells import small
from domain.text import fold
from ledger.bootstrap import CompositionRoot
from tests.helpers import API, get, post, receipt
from tests.integration.test_public_figures import public_figures, recomputed

MISSPELT = "Công ty TNHH Hoà Bìnnh"
CORRECTED = "Công ty TNHH Hoà Bình"


def _districts(services: CompositionRoot) -> list[tuple[str, str]]:
    """(district, an extremely difficult commune of it), as the district tokens are made."""
    areas = services.areas
    found = []
    for district in (a.code for a in areas.all() if a.kind == "district"):
        eligible = [c.code for c in areas.communes(district) if c.extremely_difficult]
        if eligible:
            found.append((district, eligible[0]))
    return found


def _leaf_donor(client: TestClient, services: CompositionRoot, reference: str) -> Any:
    services.runner.catch_up()
    services.tree_heads.publish()
    export = client.get(f"{API}/public/export")
    assert export.status_code == 200, export.text
    return next(facts["donor"] for kind, facts in public_figures.public_leaves(export.content.splitlines())
                if kind == "Receipt.Recorded" and facts["reference"] == reference)


def _shown(client: TestClient, after: int, **params: Any) -> list[tuple[str, Any]]:
    items = get(client, "/public/donations", after=after, **params)["items"]
    return sorted((d["reference"], d["donor"]) for d in items)


def test_a_misspelt_public_name_is_corrected_in_the_lists_and_search_not_in_the_leaf(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    made = post(client, "/donors", fin, {"name": "Công ty TNHH Hoà Bình", "kind": "individual",
                                         "public_name": MISSPELT})
    first = receipt(client, fin, made["id"], 2_000_000)
    reversed_gift = receipt(client, fin, made["id"], 300_000)
    post(client, "/reversals", fin, {"target_id": reversed_gift["id"], "reason": "nhập nhầm"})
    refused = post(client, f"/donors/{made['id']}/corrections", tokens["district"],
                   {"public_name": CORRECTED, "reason": "viết sai"}, expect=403)
    assert refused["code"] == "forbidden"
    assert post(client, f"/donors/{made['id']}/corrections", fin,
                {"public_name": CORRECTED}, expect=422)["code"] == "validation_error"
    fixed = post(client, f"/donors/{made['id']}/corrections", fin,
                 {"public_name": CORRECTED, "kind": "business", "reason": "đơn vị báo viết sai tên"})
    # Nothing changed: refused, and nothing recorded.
    same = post(client, f"/donors/{made['id']}/corrections", fin,
                {"public_name": CORRECTED, "reason": "lần nữa"}, expect=422)
    assert "nothing to correct" in same["detail"]
    later = receipt(client, fin, made["id"], 500_000)

    assert _shown(client, later["position"]) == sorted(
        [(first["reference"], CORRECTED), (later["reference"], CORRECTED)])
    assert _shown(client, later["position"], q="Hoa Binh") == _shown(client, later["position"])
    assert _shown(client, later["position"], q="Bìnnh") == []
    one = get(client, f"/public/donations/{first['reference']}", after=later["position"])
    assert one["donor"] == CORRECTED
    csv = client.get("/donations.csv", params={"q": "hoa binh"})
    assert csv.status_code == 200 and CORRECTED in csv.text and MISSPELT not in csv.text
    staff = get(client, f"/donors/{made['id']}", fin, after=fixed["position"])
    assert (staff["public_name"], staff["kind"], staff["name"]) == (CORRECTED, "business",
                                                                    "Công ty TNHH Hoà Bình")

    # The leaves keep what each receipt was recorded with; the figures are still recomputable.
    assert _leaf_donor(client, services, first["reference"]) == MISSPELT
    assert _leaf_donor(client, services, later["reference"]) == CORRECTED
    summary = get(client, "/public/summary", after=later["position"])
    assert recomputed(client, services)["donors"] == 2  # the misspelt and the corrected name
    assert summary["donors"] == small(2)

    # The donor's events keep both names, with the reason.
    events = list(services.ledger.events.get(UUID(made["id"])))
    assert [type(e).__qualname__ for e in events] == ["Donor.Registered", "Donor.Corrected"]
    assert events[0].public_name == MISSPELT
    assert events[1].public == {"public_name": CORRECTED, "kind": "business"}
    assert events[1].meta["note"] == "đơn vị báo viết sai tên"


def test_an_anonymous_donor_stays_anonymous_and_anonymity_is_a_correction(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    hidden = post(client, "/donors", fin, {"name": "Đỗ Quang Vinh", "kind": "individual",
                                           "anonymous": True})
    gift = receipt(client, fin, hidden["id"], 1_000_000)
    # A corrected legal name of an anonymous donor publishes nothing.
    fixed = post(client, f"/donors/{hidden['id']}/corrections", fin,
                 {"name": "Đỗ Quang Vĩnh", "reason": "sai dấu"})
    assert _shown(client, fixed["position"]) == [(gift["reference"], "Ẩn danh")]
    assert _shown(client, fixed["position"], q="Vinh") == []
    staff = get(client, f"/donors/{hidden['id']}", fin, after=fixed["position"])
    assert (staff["name"], staff["anonymous"], staff["public_name"]) == ("Đỗ Quang Vĩnh", True, None)

    # A named donor who asks not to be named any more: unnamed in the lists and search.
    named = post(client, "/donors", fin, {"name": "Lê Thị Hồng", "kind": "individual"})
    shown = receipt(client, fin, named["id"], 400_000)
    assert _shown(client, shown["position"], q="Le Thi Hong") == [(shown["reference"], "Lê Thị Hồng")]
    off = post(client, f"/donors/{named['id']}/corrections", fin,
               {"anonymous": True, "reason": "nhà tài trợ xin ẩn danh"})
    assert _shown(client, off["position"], q="Le Thi Hong") == []
    assert dict(_shown(client, off["position"]))[shown["reference"]] == "Ẩn danh"
    on = post(client, f"/donors/{named['id']}/corrections", fin,
              {"anonymous": False, "reason": "đồng ý công khai lại"})
    assert _shown(client, on["position"], q="Le Thi Hong") == [(shown["reference"], "Lê Thị Hồng")]
    summary = get(client, "/public/summary", after=on["position"])
    assert summary["donors"] == small(recomputed(client, services)["donors"])


def test_a_corrected_legal_name_moves_the_blind_index_and_erased_donors_are_refused(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    made = post(client, "/donors", fin, {"name": "Nguyễn Văn Ann", "kind": "individual",
                                         "contact": "0901 000 000"})
    fixed = post(client, f"/donors/{made['id']}/corrections", fin,
                 {"name": "Nguyễn Văn An", "contact": "0902 000 000", "reason": "sai chính tả"})
    ledger = services.ledger
    # The bank matcher finds donors by the folded legal name on a line (donors_named).
    assert ledger.donors_named(fold("NGUYEN VAN AN")) == [UUID(made["id"])]
    assert ledger.donors_named(fold("NGUYEN VAN ANN")) == []
    staff = get(client, f"/donors/{made['id']}", fin, after=fixed["position"])
    # Shown by their own name (no other public name): the corrected one.
    assert (staff["name"], staff["contact"], staff["public_name"]) == (
        "Nguyễn Văn An", "0902 000 000", "Nguyễn Văn An")
    # History keeps both, sealed: the old value opens with the donor's key.
    donor = ledger.require(UUID(made["id"]), Donor, "donor")
    assert set(donor.sealed) == {"name", "contact"}

    post(client, f"/donors/{made['id']}/erase", admin, {"reason": "the donor asked"})
    refused = post(client, f"/donors/{made['id']}/corrections", fin,
                   {"public_name": "Ai đó", "reason": "thử"}, expect=422)
    assert "erased" in refused["detail"]
    unknown = post(client, "/donors/00000000-0000-4000-8000-000000000000/corrections", fin,
                   {"public_name": "Ai đó", "reason": "thử"}, expect=404)
    assert unknown["code"] == "not_found"


def test_a_child_is_corrected_within_its_district_and_its_indexes_follow(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    (_, commune), _ = _districts(services)[:2]
    officer, other, admin = tokens["district"], tokens["district_other"], tokens["admin"]
    child = post(client, "/children", officer, {"commune": commune, "full_name": "Vi Thi Lann",
                                                "birth_year": 2013})
    body = {"full_name": "Vi Thị Lan", "birth_year": 2014, "guardian_name": "Vi Văn Páo",
            "reason": "giấy khai sinh"}
    assert post(client, f"/children/{child['id']}/corrections", other, body,
                expect=404)["code"] == "not_found"
    assert post(client, f"/children/{child['id']}/corrections", tokens["auditor"], body,
                expect=403)["code"] == "forbidden"
    assert post(client, f"/children/{child['id']}/corrections", officer,
                {**body, "sex": "unknown"}, expect=422)["code"] == "validation_error"
    # The age rule holds for the corrected record, counted at its registration.
    registered = services.ledger.require(UUID(child["id"]), Child, "child").created_on.year
    for year in (registered - 16, registered + 1):
        too = post(client, f"/children/{child['id']}/corrections", officer,
                   {**body, "birth_year": year}, expect=422)
        assert too["code"] == "validation_error" and str(year) not in too["detail"]
    fixed = post(client, f"/children/{child['id']}/corrections", officer, body)
    history = get(client, f"/children/{child['id']}/history", officer, after=fixed["position"])
    assert {k: history["personal"].get(k) for k in ("full_name", "birth_year", "guardian_name")} == {
        "full_name": "Vi Thị Lan", "birth_year": 2014, "guardian_name": "Vi Văn Páo"}
    get(client, f"/children/{child['id']}/history", other, expect=404)
    ledger = services.ledger
    assert ledger.children_named("VI THI LAN", commune) == [UUID(child["id"])]
    assert ledger.children_named("Vi Thi Lann", commune) == []
    # A second registration under the corrected name and year is a likely duplicate.
    twin = post(client, "/children", officer, {"commune": commune, "full_name": "Vi Thi Lan",
                                               "birth_year": 2014})
    assert twin["possible_duplicates"] == [child["id"]]
    events = [type(e).__qualname__ for e in ledger.events.get(UUID(child["id"]))]
    assert events == ["Child.Registered", "Child.Corrected"]

    # A merged duplicate and an erased child are refused.
    post(client, f"/children/{twin['id']}/merge", officer, {"into": child["id"], "reason": "trùng"})
    merged = post(client, f"/children/{twin['id']}/corrections", admin,
                  {"ethnicity": "Tày", "reason": "thử"}, expect=422)
    assert "merged" in merged["detail"]
    post(client, f"/children/{child['id']}/erase", admin, {"reason": "the guardian asked"})
    erased = post(client, f"/children/{child['id']}/corrections", tokens["finance"],
                  {"ethnicity": "Tày", "reason": "thử"}, expect=422)
    assert "erased" in erased["detail"]
    assert ledger.require(UUID(child["id"]), Child, "child").erased


def test_a_need_is_corrected_with_a_reason_within_its_district(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    (_, commune), _ = _districts(services)[:2]
    officer = tokens["district"]
    need = post(client, "/needs", officer, {"season": "2021", "commune": commune,
                                            "category": "warm-clothing", "children_count": 400,
                                            "estimated_vnd": 120_000_000})
    body = {"children_count": 40, "estimated_vnd": 12_000_000, "reason": "thừa một số 0"}
    assert post(client, f"/needs/{need['id']}/corrections", tokens["district_other"], body,
                expect=404)["code"] == "not_found"
    assert post(client, f"/needs/{need['id']}/corrections", officer,
                {**body, "reason": ""}, expect=422)["code"] == "validation_error"
    assert post(client, "/needs/00000000-0000-4000-8000-000000000000/corrections", officer, body,
                expect=404)["code"] == "not_found"
    fixed = post(client, f"/needs/{need['id']}/corrections", officer, body)
    rows = [n for n in get(client, "/public/needs", after=fixed["position"])["items"]
            if n["commune"] == commune and n["category"] == "warm-clothing"]
    assert [(n["children_count"], n["estimated_vnd"]) for n in rows] == [(40, 12_000_000)]
    surveys = [e for e in services.ledger.events.get(UUID(need["id"]))
               if type(e).__qualname__ == "Need.Surveyed"]
    assert [(e.children_count, e.note) for e in surveys] == [(400, None), (40, "thừa một số 0")]


def test_a_correction_projects_the_same_whatever_the_batches(services: CompositionRoot) -> None:
    """Receipts before and after a correction, and reversals of both, in one batch live and in
    another on a rebuild: the same rows (the correction flushes its batch's writes first)."""
    ctx = Context(actor="test", role="finance")
    ledger = services.ledger
    donor = UUID(ledger.register_donor(ctx, "", name="Phạm Văn Bìnhh", kind="individual")["id"])

    def gift(amount: int) -> UUID:
        return UUID(ledger.record_receipt(ctx, "", donor_id=donor, fund="campaign",
                                          received_on="2021-03-01", channel="cash",
                                          amount_vnd=amount)["id"])

    first = gift(1_000_000)
    services.runner.catch_up()
    second = gift(2_000_000)  # in the correction's batch, before it
    ledger.correct_donor(ctx, "", donor_id=donor, name="Phạm Văn Bình", reason="sai chính tả")
    ledger.reverse(ctx, "", target_id=second, reason="nhầm")
    third = gift(3_000_000)
    services.runner.catch_up()
    ledger.reverse(ctx, "", target_id=first, reason="nhầm")
    ledger.correct_donor(ctx, "", donor_id=donor, anonymous=True, reason="xin ẩn danh")
    ledger.reverse(ctx, "", target_id=third, reason="nhầm")
    services.runner.catch_up()

    queries = {
        "donors": "SELECT * FROM donors ORDER BY donor_id",
        "donations": "SELECT receipt_id, donor_display, donor_folded, reversed FROM public_donations"
                     " ORDER BY receipt_id",
        "names": "SELECT * FROM public_names ORDER BY folded",
        "years": "SELECT * FROM public_donor_years ORDER BY donor_id, year",
        "counters": "SELECT * FROM public_counters ORDER BY name",
    }
    live = {k: services.db.query(q) for k, q in queries.items()}
    services.runner.rebuild()
    assert live == {k: services.db.query(q) for k, q in queries.items()}
    assert {r["folded"]: int(r["receipts"]) for r in live["names"]} == {
        "pham van binhh": 0, "pham van binh": 0}
    assert {r["donor_folded"] for r in live["donations"]} == {""}
