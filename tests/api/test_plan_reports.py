"""The plan's reports (issue 13, items 2–4), through HTTP on both databases. The report to the
Department: resources mobilised per partner organisation and per source, cash and goods apart,
in a period by the receipts' business dates; allocations and distributions per category and
district; distinct children supported. The CSV and the XLSX carry the JSON's numbers; random
periods agree with a pass over the log's events. The recognition list ranks donors with their
tiers and never names an anonymous one; the pledges report shows what is outstanding and
overdue on a date."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, communes, districts, donor, get, post, receipt


def _report(client: TestClient, token: str, after: int, kind: str = "mobilisation",
            **params: Any) -> dict[str, Any]:
    return get(client, f"/reports/{kind}", token, after=after, **params)


def _ledger(client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> dict[str, Any]:
    fin, officer = tokens["finance"], tokens["district"]
    district = districts(services)[0]
    here = communes(services, district)[0]
    an, lan = donor(client, fin), donor(client, fin, "Trần Thị Lan")
    receipt(client, fin, an, 1_000_000, mobilised_by="Hội LHPN tỉnh", received_on="2021-02-01")
    post(client, "/receipts", fin, {"donor_id": lan, "fund": "campaign", "received_on": "2021-02-02",
                                    "channel": "in_kind", "mobilised_by": "hlhpn",
                                    "in_kind": {"item": "Áo ấm", "unit": "chiếc", "quantity": 5,
                                                "unit_value_vnd": 100_000}})
    receipt(client, fin, an, 2_000_000, fund="child-protection-fund", mobilised_by="mttq",
            received_on="2021-03-10")
    receipt(client, fin, lan, 300_000, received_on="2021-03-11")
    wrong = receipt(client, fin, lan, 9_000_000, received_on="2021-03-12", mobilised_by="mttq")
    post(client, "/reversals", fin, {"target_id": wrong["id"], "reason": "ghi nhầm"})
    receipt(client, fin, an, 4_000_000, received_on="2021-07-01", mobilised_by="ldld")  # later
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": here,
                                       "category": "tet-gifts", "amount_vnd": 1_200_000,
                                       "decision_ref": "QĐ 1"})
    mai = post(client, "/children", officer, {"commune": here, "full_name": "Lò Thị Mai",
                                              "birth_year": 2015})["id"]
    pao = post(client, "/children", officer, {"commune": here, "full_name": "Hoàng Văn Páo",
                                              "birth_year": 2014})["id"]
    line = {"description": "Quà Tết", "value_vnd": 100_000}
    post(client, "/distributions", officer, {
        "season": "2021", "commune": here, "category": "tet-gifts", "distributed_on": "2021-03-15",
        "lines": [{**line, "child_id": mai}, {**line, "child_id": pao}]})
    post(client, "/distributions", officer, {
        "season": "2021", "commune": here, "category": "tet-gifts", "distributed_on": "2021-03-20",
        "lines": [{**line, "child_id": mai}], "duplicate_reason": "bổ sung"})
    last = post(client, "/distributions", officer, {
        "season": "2021", "commune": here, "category": "tet-gifts", "distributed_on": "2021-03-25",
        "lines": [{"description": "Quà cho 7 em", "value_vnd": 700_000}], "beneficiaries_count": 7})
    return {"district": district, "position": last["position"]}


def test_the_report_counts_each_partner_source_and_child_once(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    made = _ledger(client, services, tokens)
    report = _report(client, tokens["auditor"], made["position"], **{"from": "2021-01-01",
                                                                    "to": "2021-06-30"})
    assert (report["total_received_vnd"], report["cash_received_vnd"],
            report["goods_received_vnd"]) == (3_800_000, 3_300_000, 500_000)
    partners = {p["partner"]: p for p in report["by_partner"]}
    assert set(partners) == {"hlhpn", "mttq", None}  # the reversed and the later receipts left out
    assert partners["hlhpn"] | {"by_fund": None} == {
        "partner": "hlhpn", "name": "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn", "received_vnd": 1_500_000,
        "cash_vnd": 1_000_000, "goods_vnd": 500_000, "receipts": 2, "by_fund": None}
    assert partners["mttq"]["by_fund"] == {"child-protection-fund": 2_000_000}
    assert partners[None]["name"].startswith("Không qua tổ chức")
    assert [p["partner"] for p in report["by_partner"]][-1] is None  # "direct" comes last
    assert report["allocated"] == [{"category": "tet-gifts", "district": made["district"],
                                    "allocated_vnd": 1_200_000, "allocations": 1,
                                    "category_name": "Quà Tết", "district_name": report["allocated"][0][
                                        "district_name"]}]
    assert report["distributed"][0]["distributed_vnd"] == 1_000_000
    assert report["children"][0] | {"category_name": None, "district_name": None} == {
        "category": "tet-gifts", "district": made["district"], "named_children": 2,
        "counted_children": 7, "category_name": None, "district_name": None}
    assert report["children_supported"] == 9  # Mai once, Páo, and the 7 counted

    early = _report(client, tokens["finance"], made["position"], **{"from": "2021-01-01",
                                                                   "to": "2021-02-28"})
    assert early["total_received_vnd"] == 1_500_000 and early["children_supported"] == 0

    for role in ("district", "admin"):
        _report(client, tokens[role], made["position"])
    assert client.get(f"{API}/reports/mobilisation").status_code == 401
    bad = client.get(f"{API}/reports/mobilisation", params={"from": "2021-05-01", "to": "2021-01-01"},
                     headers=auth(tokens["finance"]))
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


def test_the_csv_and_the_xlsx_carry_the_jsons_numbers(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    made = _ledger(client, services, tokens)
    period = {"from": "2021-01-01", "to": "2021-12-31", "after": made["position"]}
    report = get(client, "/reports/mobilisation", tokens["finance"], **period)
    files = {}
    for kind in ("csv", "xlsx"):
        response = client.get(f"{API}/reports/mobilisation", params={**period, "format": kind},
                              headers=auth(tokens["finance"]))
        assert response.status_code == 200, response.text
        assert "bao-cao-van-dong-2021-01-01-2021-12-31" in response.headers["content-disposition"]
        files[kind] = response.content
    rows = list(csv.reader(io.StringIO(files["csv"].decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(files["xlsx"])).active
    assert sheet is not None
    cells = [[c.value for c in r] for r in sheet.iter_rows()]
    for row in (rows, cells):
        assert row[0][0] == "BÁO CÁO KẾT QUẢ VẬN ĐỘNG NGUỒN LỰC HỖ TRỢ TRẺ EM"
    total = next(r for r in cells if r[0] == "Tổng nguồn lực vận động (đồng)")
    assert total[1] == report["total_received_vnd"] == 7_800_000  # a number, not text
    csv_total = next(r for r in rows if r and r[0] == "Tổng nguồn lực vận động (đồng)")
    assert int(csv_total[1]) == report["total_received_vnd"]
    money = next(c for r in sheet.iter_rows() for c in r if c.value == 7_800_000)
    assert "₫" in money.number_format and "vi-VN" in money.number_format
    by_name = {r[0]: r for r in cells if r and r[0]}
    for p in report["by_partner"]:
        assert by_name[p["name"]][3] == p["received_vnd"]
        assert int(next(r for r in rows if r and r[0] == p["name"])[3]) == p["received_vnd"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2021, 12, 31)),
       days=st.integers(min_value=0, max_value=200))
def test_random_periods_agree_with_the_log(client: TestClient, services: CompositionRoot,
                                           tokens: dict[str, str], first: Any, days: int) -> None:
    if services.ledger.recorder.max_notification_id() < 20:  # one ledger for every example
        services.runner.ensure(_ledger(client, services, tokens)["position"])
    last = first + dt.timedelta(days=days)
    report = _report(client, tokens["auditor"], 0, **{"from": first.isoformat(),
                                                     "to": last.isoformat()})
    # A pass over the log: receipts recorded in the period, less those reversed.
    events = list(services.ledger.recorder.select_notifications(1, 10**6))
    decoded = [services.ledger.mapper.to_domain_event(e) for e in events]
    reversed_ids = {e.originator_id for e in decoded if type(e).__qualname__ == "Receipt.Reversed"}
    expected = sum(e.amount_vnd for e in decoded if type(e).__qualname__ == "Receipt.Recorded"
                   and e.originator_id not in reversed_ids
                   and first.isoformat() <= e.received_on <= last.isoformat())
    assert report["total_received_vnd"] == expected
    assert sum(p["received_vnd"] for p in report["by_partner"]) == expected
    assert sum(f["received_vnd"] for f in report["by_fund"]) == expected


def test_the_recognition_list_ranks_donors_and_never_names_an_anonymous_one(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    an = donor(client, fin)
    lan = donor(client, fin, "Trần Thị Lan", public_name="Gia đình chị Lan")
    hidden = donor(client, fin, "Đỗ Văn Kín", anonymous=True)
    receipt(client, fin, an, 2_000_000, received_on="2021-02-01")
    post(client, "/receipts", fin, {"donor_id": an, "fund": "campaign", "received_on": "2021-02-02",
                                    "channel": "in_kind", "in_kind": {
                                        "item": "Gạo", "unit": "kg", "quantity": 100,
                                        "unit_value_vnd": 10_000}})
    receipt(client, fin, lan, 25_000_000, received_on="2021-03-01")
    receipt(client, fin, hidden, 150_000_000, received_on="2021-03-02")
    receipt(client, fin, lan, 90_000_000, received_on="2022-01-05")  # after the period
    wrong = receipt(client, fin, an, 50_000_000, received_on="2021-03-03")
    last = post(client, "/reversals", fin, {"target_id": wrong["id"], "reason": "ghi nhầm"})
    period = {"from": "2021-01-01", "to": "2021-12-31"}
    report = _report(client, tokens["auditor"], last["position"], "recognition", **period)
    assert [(d["rank"], d["name"], d["given_vnd"], d["tier"]) for d in report["donors"]] == [
        (1, "Ẩn danh", 150_000_000, "Bằng khen của Chủ tịch UBND tỉnh"),
        (2, "Gia đình chị Lan", 25_000_000, "Giấy khen của Giám đốc Sở LĐTBXH"),
        (3, "Nguyễn Văn An", 3_000_000, "Thư cảm ơn")]
    assert (report["donors"][2]["cash_vnd"], report["donors"][2]["goods_vnd"]) == (2_000_000, 1_000_000)
    assert report["donors"][0]["donor_id"] is None
    assert report["total_given_vnd"] == 178_000_000
    for kind in ("json", "csv", "xlsx"):
        response = client.get(f"{API}/reports/recognition", params={**period, "format": kind},
                              headers=auth(tokens["finance"]))
        assert response.status_code == 200
        for secret in (hidden, "Đỗ Văn Kín", "Kín"):
            assert secret.encode() not in response.content, (kind, secret)


def test_the_pledges_report_shows_what_is_outstanding_and_overdue_on_a_date(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    an = donor(client, fin)

    def pledge(amount: int, due_on: str | None = None) -> str:
        body: dict[str, Any] = {"donor_id": an, "amount_vnd": amount}
        if due_on:
            body["due_on"] = due_on
        return str(post(client, "/pledges", fin, body)["id"])

    late, open_, paid, dropped = (pledge(10_000_000, "2021-03-01"), pledge(2_000_000),
                                  pledge(1_000_000, "2021-02-01"), pledge(3_000_000, "2021-01-15"))
    receipt(client, fin, an, 4_000_000, pledge_id=late, received_on="2021-02-15")
    receipt(client, fin, an, 1_000_000, pledge_id=late, received_on="2021-05-01")  # after as_of
    receipt(client, fin, an, 1_000_000, pledge_id=paid, received_on="2021-01-20")
    last = post(client, "/reversals", fin, {"target_id": dropped, "reason": "nhà hảo tâm rút lại"})
    report = _report(client, tokens["finance"], last["position"], "pledges", as_of="2021-04-01")
    assert [(p["pledge_id"], p["outstanding_vnd"], p["days_overdue"], p["overdue"])
            for p in report["items"]] == [(late, 6_000_000, 31, True), (open_, 2_000_000, 0, False)]
    assert (report["pledges"], report["outstanding_vnd"], report["overdue"],
            report["overdue_vnd"]) == (2, 8_000_000, 1, 6_000_000)
    later = _report(client, tokens["auditor"], last["position"], "pledges", as_of="2021-06-01")
    assert [p["outstanding_vnd"] for p in later["items"]] == [5_000_000, 2_000_000]
    sheet = load_workbook(io.BytesIO(client.get(
        f"{API}/reports/pledges", params={"as_of": "2021-04-01", "format": "xlsx"},
        headers=auth(fin)).content)).active
    assert sheet is not None
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert [r[4] for r in rows if r[1] in (late, open_)] == [6_000_000, 2_000_000]


def test_reports_by_recording_date_put_each_entry_on_the_day_it_was_recorded(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    made = _ledger(client, services, tokens)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    in_2021 = {"from": "2021-01-01", "to": "2021-12-31"}
    business = _report(client, fin, made["position"], **in_2021)
    # Everything was recorded today, for gifts and support of 2021.
    recorded_2021 = _report(client, fin, made["position"], by="recorded", **in_2021)
    assert business["by"] == "business" and business["total_received_vnd"] == 7_800_000
    assert (recorded_2021["by"], recorded_2021["total_received_vnd"], recorded_2021["allocated"],
            recorded_2021["distributed"], recorded_2021["children_supported"]) == ("recorded", 0, [], [], 0)
    recorded_today = _report(client, fin, made["position"], by="recorded", **{"from": today, "to": today})
    everything = _report(client, fin, made["position"], **{"from": "2021-01-01", "to": today})
    for key in ("total_received_vnd", "by_partner", "by_fund", "allocated", "distributed",
                "children", "children_supported"):
        assert recorded_today[key] == everything[key], key
    assert _report(client, fin, made["position"], "recognition", by="recorded", **in_2021)["donors"] == []
    assert len(_report(client, fin, made["position"], "recognition", **in_2021)["donors"]) == 2
    get(client, "/reports/mobilisation", fin, by="when", expect=422)
