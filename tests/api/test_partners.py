"""Partner organisations as reference data (issue 13, item 1), through HTTP on both databases:
the plan's own list comes built in, an admin adds others, and a pledge or a receipt names one by
its code or by any of its names, so that "Hội LHPN tỉnh" and "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn"
are one organisation; a name of no partner is refused and records nothing."""

from __future__ import annotations

from uuid import UUID

from fastapi.testclient import TestClient

from domain.donors import Pledge
from domain.receipts import Receipt
from ledger.bootstrap import CompositionRoot
from tests.helpers import donor, get, post, receipt


def _partner_of(services: CompositionRoot, record_id: str, cls: type[Receipt | Pledge]) -> str:
    """What the record's first event stores as `mobilised_by`."""
    services.ledger.require(UUID(record_id), cls, "record")
    first = next(iter(services.ledger.events.get(UUID(record_id))))
    return str(first.mobilised_by)


def _head(services: CompositionRoot) -> int:
    return services.ledger.recorder.max_notification_id() or 0


def test_the_plans_partners_are_listed_and_an_admin_adds_others(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    listed = get(client, "/partners")["items"]
    codes = [p["code"] for p in listed]
    assert {"mttq", "hlhpn", "tinh-doan", "ldld", "chu-thap-do", "hoi-nong-dan",
            "cuu-chien-binh"} <= set(codes)
    assert next(p for p in listed if p["code"] == "hlhpn")["name"] == "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn"

    new = {"code": "hoi-khuyen-hoc", "name": "Hội Khuyến học tỉnh Lạng Sơn",
           "aliases": ["Hội Khuyến học tỉnh"]}
    for role in ("finance", "district", "auditor"):
        assert post(client, "/partners", tokens[role], new, expect=403)["code"] == "forbidden"
    head = _head(services)
    for body, code in (({**new, "code": "hlhpn"}, "already_recorded"),
                       ({**new, "name": "HỘI LHPN TỈNH"}, "already_recorded"),  # another's alias
                       ({**new, "code": "Hội KH"}, "validation_error"),
                       ({**new, "name": ""}, "validation_error")):
        status = 409 if code == "already_recorded" else 422
        assert post(client, "/partners", tokens["admin"], body, expect=status)["code"] == code
    assert _head(services) == head
    post(client, "/partners", tokens["admin"], new)
    assert get(client, "/partners")["items"][-1] == new
    # From then on a receipt names it by any of its names.
    fin = tokens["finance"]
    made = receipt(client, fin, donor(client, fin), 100_000, mobilised_by="hội khuyến học tỉnh")
    assert _partner_of(services, made["id"], Receipt) == "hoi-khuyen-hoc"


def test_pledges_and_receipts_name_a_partner_by_code_or_name(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    gift = donor(client, fin)
    for spelling in ("hlhpn", "Hội LHPN tỉnh", "HOI LIEN HIEP PHU NU TINH LANG SON"):
        made = receipt(client, fin, gift, 200_000, mobilised_by=spelling)
        assert _partner_of(services, made["id"], Receipt) == "hlhpn"
    pledge = post(client, "/pledges", fin, {"donor_id": gift, "amount_vnd": 1_000_000,
                                            "mobilised_by": "Tỉnh đoàn Lạng Sơn"})
    assert _partner_of(services, pledge["id"], Pledge) == "tinh-doan"

    head = _head(services)
    for path, body in (("/receipts", {"donor_id": gift, "fund": "campaign", "received_on": "2021-03-01",
                                      "channel": "cash", "amount_vnd": 1_000,
                                      "mobilised_by": "Hội LHPN huyện"}),
                       ("/pledges", {"donor_id": gift, "amount_vnd": 1_000, "mobilised_by": "ai đó"})):
        problem = post(client, path, fin, body, expect=422)
        assert problem["code"] == "partner_unknown" and "GET /partners" in problem["detail"]
    assert _head(services) == head
