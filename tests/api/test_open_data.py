"""Issue 13, item 6: the public ledger as open data. The IATI 2.03 activities and the 360Giving
package and CSV validate against the standards' own schemas (tests/open_data.py), for a hand-made
ledger on both databases and for random small ledgers; their totals equal `/public/summary`'s;
nothing private is in them, and no count of children below 5 (the demo: tests/integration/
test_open_data_demo.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from domain.meta import Context
from ledger.bootstrap import CompositionRoot
from ledger.open_data import CSV_COLUMNS, REPORTING_ORG_REF
from tests.conftest import make_services
from tests.helpers import API
from tests.open_data import giving_errors, iati_errors

STAFF = "open-data-staff-secret"
CTX = Context(actor=STAFF, role="finance", request_id="REQ-OPEN-DATA-SECRET")
NOTE = "BI-MAT-OPEN-DATA-NOTE"
LEGAL = "Trần Bí Mật Mở"
TXN = "FT-OPEN-SECRET-7"
CHILD = "Lò Thị Mở Bí Mật"
ANON_LEGAL = "Ẩn Danh Thật Bí Mật"
PARTNER = "Hội Liên hiệp Phụ nữ tỉnh"  # a short name of the partner `hlhpn`
PARTNER_NAME = "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn"  # as the open data names it
PATHS = {"iati": f"{API}/public/open-data/iati.xml", "json": f"{API}/public/open-data/360giving.json",
         "csv": f"{API}/public/open-data/360giving.csv"}


def _h() -> str:
    return uuid.uuid4().hex


def _ledger(services: CompositionRoot) -> dict[str, Any]:
    """Two communes, three programmes (one of them emptied by a reversal), a named donor behind a
    public name, an anonymous one, a partner, named children (3: a small count) and a group of 9,
    markers in every private field."""
    ledger = services.ledger
    [first, second] = [a.code for a in services.areas.communes() if a.extremely_difficult][:2]
    named = UUID(ledger.register_donor(CTX, _h(), name=LEGAL, kind="individual",
                                       public_name="Một nhà hảo tâm", contact="0900 CONTACT-BI-MAT")["id"])
    anonymous = UUID(ledger.register_donor(CTX, _h(), name=ANON_LEGAL, kind="individual",
                                           anonymous=True)["id"])
    gifts = [ledger.record_receipt(CTX, _h(), donor_id=named, fund="campaign", received_on="2021-03-01",
                                   channel="bank", amount_vnd=30_000_000, bank_txn_id=TXN,
                                   mobilised_by=PARTNER, note=NOTE),
             ledger.record_receipt(CTX, _h(), donor_id=anonymous, fund="campaign",
                                   received_on="2021-03-02", channel="cash", amount_vnd=20_000_000,
                                   note=f"{NOTE} ND: CK tu 0123456789"),
             ledger.record_receipt(CTX, _h(), donor_id=anonymous, fund="child-protection-fund",
                                   received_on="2021-03-03", channel="cash", amount_vnd=5_000_000)]
    kids = [ledger.register_child(CTX, _h(), commune=first, personal={
        "full_name": f"{CHILD} {n}", "birth_year": 2015, "guardian_name": "Giám Hộ Bí Mật"})["id"]
        for n in range(3)]
    ledger.allocate(CTX, _h(), fund="campaign", season="2021", commune=first, category="warm-clothing",
                    decision_ref="QĐ 12/2021", amount_vnd=40_000_000, note=NOTE)
    ledger.distribute(CTX, _h(), season="2021", commune=first, category="warm-clothing",
                      distributed_on="2021-11-20",
                      lines=[{"child_id": k, "description": f"Áo ấm {NOTE}", "value_vnd": 300_000}
                             for k in kids])
    ledger.allocate(CTX, _h(), fund="child-protection-fund", season="2021", commune=second,
                    category="nutrition-health", decision_ref="QĐ 13/2021", amount_vnd=5_000_000)
    ledger.distribute(CTX, _h(), season="2021", commune=second, category="nutrition-health",
                      distributed_on="2021-12-01", beneficiaries_count=9,
                      lines=[{"description": "Sữa", "quantity": 9, "value_vnd": 900_000}])
    undone = ledger.allocate(CTX, _h(), fund="campaign", season="2022", commune=second,
                             category="tet-gifts", decision_ref="QĐ 1/2022", amount_vnd=1_000_000)
    last = ledger.reverse(CTX, _h(), target_id=UUID(str(undone["id"])), reason=f"nhầm {NOTE}")
    return {"communes": (first, second), "gifts": gifts, "last": last["position"],
            "secrets": [STAFF, "REQ-OPEN-DATA-SECRET", NOTE, LEGAL, TXN, CHILD, ANON_LEGAL,
                        "CONTACT-BI-MAT", "0123456789", "Giám Hộ Bí Mật", str(named), str(anonymous),
                        *kids]}


def _exports(client: TestClient, after: int) -> dict[str, Any]:
    answers = {k: client.get(p, params={"after": after}) for k, p in PATHS.items()}
    for k, r in answers.items():
        assert r.status_code == 200, (k, r.text)
        assert r.headers["cache-control"] == "public, max-age=10"
    assert answers["iati"].headers["content-type"].startswith("application/xml")
    assert answers["json"].headers["content-type"] == "application/json"
    assert answers["csv"].headers["content-type"] == "text/csv; charset=utf-8"
    return {"iati": answers["iati"].content, "json": answers["json"].json(),
            "csv": list(csv.DictReader(io.StringIO(answers["csv"].text))),
            "csv_header": answers["csv"].text.splitlines()[0], "texts": [r.text for r in answers.values()]}


def _transactions(iati: bytes) -> dict[str, int]:
    totals = {"1": 0, "2": 0, "3": 0, "4": 0}
    for tx in etree.fromstring(iati).iter("transaction"):
        totals[tx.find("transaction-type").get("code")] += int(tx.find("value").text)
    return totals


def _check_against_summary(client: TestClient, exports: dict[str, Any]) -> None:
    summary = client.get(f"{API}/public/summary").json()
    assert iati_errors(exports["iati"]) == []
    assert giving_errors(exports["json"]) == []
    grants = exports["json"]["grants"]
    totals = _transactions(exports["iati"])
    assert totals["2"] == summary["allocated_vnd"] == sum(g["amountAwarded"] for g in grants)
    assert totals["1"] == summary["allocated_vnd"]  # each committed đồng traced to its receipts
    assert totals["4"] == summary["distributed_vnd"] == sum(g["amountDisbursed"] for g in grants)
    assert totals["3"] == 0
    assert [r["Identifier"] for r in exports["csv"]] == [g["id"] for g in grants]
    assert [int(r["Amount Awarded"]) for r in exports["csv"]] == [g["amountAwarded"] for g in grants]
    ids = [a.findtext("iati-identifier") for a in etree.fromstring(exports["iati"]).iter("iati-activity")]
    assert len(ids) == len(set(ids)) == len(grants)
    assert all(i.startswith(REPORTING_ORG_REF + "-") for i in ids)


def test_exports_validate_and_add_up(client: TestClient, services: CompositionRoot) -> None:
    built = _ledger(services)
    exports = _exports(client, built["last"])
    _check_against_summary(client, exports)
    grants = exports["json"]["grants"]
    # The programme whose only allocation was reversed is not published; the other two are.
    assert len(grants) == 2
    first, second = built["communes"]
    by_commune = {g["recipientOrganization"][0]["id"]: g for g in grants}
    assert set(by_commune) == {f"VN-GSO-{first}", f"VN-GSO-{second}"}
    assert by_commune[f"VN-GSO-{first}"]["amountAwarded"] == 40_000_000
    assert by_commune[f"VN-GSO-{first}"]["amountDisbursed"] == 900_000
    assert exports["csv_header"].split(",")[:len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    doc = etree.fromstring(exports["iati"])
    providers = [p.findtext("narrative") for p in doc.iter("provider-org")]
    # The first commune's 40 M drew on the named gift (30 M) and the anonymous one (10 M).
    assert sorted(providers) == ["Một nhà hảo tâm", "Ẩn danh", "Ẩn danh"]
    partners = [p.findtext("narrative") for p in doc.iter("participating-org") if p.get("ref") is None]
    assert partners == [PARTNER_NAME]
    refs = {tx.get("ref") for tx in doc.iter("transaction") if tx.get("ref")}
    assert refs == {g["reference"] for g in built["gifts"]}


def test_nothing_private_and_no_small_count(client: TestClient, services: CompositionRoot) -> None:
    built = _ledger(services)
    exports = _exports(client, built["last"])
    for text in exports["texts"]:
        folded = text.casefold()
        leaks = [s for s in built["secrets"] if s.casefold() in folded]
        assert leaks == []
        # 3 children were reached in the first commune: shown as "< 5", never as a number.
        counts = re.findall(r"số trẻ em được hỗ trợ: ([^.\"<,]*<?[^.\"]*)\.", text)
        assert counts, text[:500]
        assert all(c.strip() in ("< 5", "&lt; 5") or int(c) >= 5 for c in counts), counts
    assert any("< 5" in t or "&lt; 5" in t for t in exports["texts"])
    assert all("9" in g["description"] for g in exports["json"]["grants"]
               if g["recipientOrganization"][0]["id"].endswith(built["communes"][1]))


def test_validators_can_fail(client: TestClient, services: CompositionRoot) -> None:
    # The schemas do reject a broken document: the checks above can fail.
    built = _ledger(services)
    exports = _exports(client, built["last"])
    doc = etree.fromstring(exports["iati"])
    activity = next(doc.iter("iati-activity"))
    activity.remove(activity.find("iati-identifier"))
    assert iati_errors(etree.tostring(doc)) != []
    broken = json.loads(json.dumps(exports["json"]))
    broken["grants"][0]["amountAwarded"] = "40000000"
    broken["grants"][1]["awardDate"] = "2021-13-01"
    assert len(giving_errors(broken)) >= 2
    del broken["grants"][0]["recipientOrganization"]
    assert giving_errors(broken) != []


def test_empty_ledger_has_nothing_to_publish(client: TestClient) -> None:
    for path in PATHS.values():
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "not_found"


@st.composite
def _plans(draw: st.DrawFn) -> list[tuple[int, int, int, int, bool]]:
    """Programmes: (commune index, category index, allocated in 100 000 ₫, distributed share in
    tenths, reversed?)."""
    return draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(1, 50),
                                   st.integers(0, 10), st.booleans()), min_size=1, max_size=5))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=_plans(), anonymous=st.booleans())
def test_random_ledgers_validate_and_add_up(tmp_path_factory: pytest.TempPathFactory,
                                            plan: list[tuple[int, int, int, int, bool]],
                                            anonymous: bool) -> None:
    from api.app import create_app
    from domain.money import CATEGORIES

    data_dir = tmp_path_factory.mktemp("open-data")
    services = make_services(f"sqlite:///{data_dir}/minhbach.db", data_dir)
    try:
        ledger = services.ledger
        places = [a.code for a in services.areas.communes() if a.extremely_difficult][:3]
        categories = sorted(CATEGORIES)
        donor = UUID(ledger.register_donor(CTX, _h(), name=LEGAL, kind="business",
                                           public_name="Công ty Mở", anonymous=anonymous)["id"])
        ledger.record_receipt(CTX, _h(), donor_id=donor, fund="campaign", received_on="2021-02-01",
                              channel="bank", amount_vnd=sum(p[2] for p in plan) * 100_000, note=NOTE)
        last = 0
        for commune, category, allocated, share, reversed_ in plan:
            amount = allocated * 100_000
            made = ledger.allocate(CTX, _h(), fund="campaign", season="2021", commune=places[commune],
                                   category=categories[category], decision_ref="QĐ", amount_vnd=amount)
            last = made["position"]
            given_vnd = amount * share // 10
            if given_vnd and not reversed_:
                last = ledger.distribute(CTX, _h(), season="2021", commune=places[commune],
                                         category=categories[category], distributed_on="2021-06-01",
                                         beneficiaries_count=share,
                                         lines=[{"description": "Quà", "value_vnd": given_vnd}])["position"]
            if reversed_:
                last = ledger.reverse(CTX, _h(), target_id=UUID(str(made["id"])), reason="nhầm")["position"]
        services.start_projections()
        with TestClient(create_app(services=services)) as client:
            if all(p[4] for p in plan):
                assert client.get(PATHS["json"], params={"after": last}).status_code == 404
                return
            exports = _exports(client, last)
            _check_against_summary(client, exports)
            assert all(LEGAL not in t and NOTE not in t for t in exports["texts"])
            if anonymous:
                assert all("Công ty Mở" not in t for t in exports["texts"])
    finally:
        services.close()
