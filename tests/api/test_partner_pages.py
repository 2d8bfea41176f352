"""A public page per partner organisation (issue 13, item 1): what it mobilised, by source, cash
and goods apart, and where that money went; the list of every partner; nothing private and no
count of persons below 5."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import communes, donor, post, receipt


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, element_id
    return found.group(1).strip()


def test_a_partners_page_shows_what_it_mobilised_and_where_it_went(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    commune = communes(services)[0]
    an, lan = donor(client, fin, "Nguyễn Văn Bí Mật"), donor(client, fin, "Lê Thị Riêng Tư")
    receipt(client, fin, an, 1_250_000, mobilised_by="Hội LHPN tỉnh")
    receipt(client, fin, lan, 750_000, fund="child-protection-fund", mobilised_by="hlhpn")
    post(client, "/receipts", fin, {"donor_id": lan, "fund": "campaign", "received_on": "2021-03-02",
                                    "channel": "in_kind", "mobilised_by": "hlhpn",
                                    "in_kind": {"item": "Áo ấm", "unit": "chiếc", "quantity": 4,
                                                "unit_value_vnd": 100_000}})
    receipt(client, fin, an, 9_000_000, mobilised_by="mttq")
    wrong = receipt(client, fin, an, 5_000_000, mobilised_by="hlhpn")
    post(client, "/reversals", fin, {"target_id": wrong["id"], "reason": "ghi nhầm"})
    last = post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                              "category": "tet-gifts", "amount_vnd": 1_000_000,
                                              "decision_ref": "QĐ 1"})
    services.runner.ensure(last["position"])

    page = client.get("/partners/hlhpn")
    assert page.status_code == 200
    html = page.text
    assert "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn" in html
    assert _text(html, "partner-received") == "2.400.000 ₫"  # the reversed receipt left out
    assert _text(html, "partner-donors") == "&lt; 5"
    # The allocation drew on the oldest campaign receipts: 1.250.000 ₫ of this partner's first.
    assert _text(html, "partner-allocated") == "1.000.000 ₫"
    assert "Quỹ Bảo trợ trẻ em" in html and "400.000 ₫" in html
    for secret in ("Bí Mật", "Riêng Tư", an, lan, wrong["id"]):
        assert secret not in html

    listing = client.get("/partners?lang=en")
    assert listing.status_code == 200
    assert listing.text.index("Ủy ban Mặt trận Tổ quốc") < listing.text.index("Hội Liên hiệp Phụ nữ")
    assert "Hội Nông dân tỉnh Lạng Sơn" in listing.text  # a partner with nothing yet is listed
    assert client.get("/partners/no-such-partner").status_code == 404


def test_the_public_recognition_page_names_only_those_who_agreed(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    named = donor(client, fin, "Trần Văn Hảo", public_name="Công ty Hảo Tâm")
    hidden = donor(client, fin, "Đỗ Thị Kín Đáo", anonymous=True)
    receipt(client, fin, named, 25_000_000)
    receipt(client, fin, named, 1_000_000, received_on="2022-02-01")
    last = receipt(client, fin, hidden, 90_000_000)
    services.runner.ensure(int(last["position"]))
    page = client.get("/recognition").text
    assert "Công ty Hảo Tâm" in page and "26.000.000 ₫" in page
    assert "Giấy khen của Giám đốc Sở LĐTBXH" in page
    for secret in ("Kín Đáo", "Ẩn danh", "90.000.000", "Trần Văn Hảo", hidden, named):
        assert secret not in page
    assert "25.000.000 ₫" in client.get("/recognition?year=2021").text
    assert "Công ty Hảo Tâm" not in client.get("/recognition?year=2020").text
