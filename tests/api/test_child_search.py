"""Finding a child and one record per child (issue 12, item 2), on both databases: staff find a
child by code or by exact name through a keyed blind index (never by decrypting every record),
a second registration is warned of, the likely duplicates are listed, and merging two records
makes the duplicate-support rule see both records' support."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, communes, districts, donor, get, post, receipt


def _child(client: TestClient, token: str, commune: str, name: str = "Nguyễn Văn An",
           birth_year: int = 2015) -> dict[str, Any]:
    return post(client, "/children", token, {"commune": commune, "full_name": name,
                                             "birth_year": birth_year})


def _find(client: TestClient, token: str, commune: str, q: str, after: int,
          expect: int = 200) -> list[dict[str, Any]]:
    found = get(client, "/children", token, expect, commune=commune, q=q, after=after)
    return found.get("items", [])


def _funded(client: TestClient, fin: str, commune: str) -> None:
    receipt(client, fin, donor(client, fin), 2_000_000)
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "tet-gifts", "amount_vnd": 1_000_000,
                                       "decision_ref": "QĐ 1"})


def _give(client: TestClient, token: str, commune: str, child_id: str, expect: int = 201,
          **extra: Any) -> dict[str, Any]:
    return post(client, "/distributions", token, {
        "season": "2021", "commune": commune, "category": "tet-gifts", "distributed_on": "2021-03-02",
        "lines": [{"child_id": child_id, "description": "Quà Tết", "value_vnd": 100_000}], **extra},
        expect=expect)


def test_a_child_is_found_by_code_or_name_in_its_district_only(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    officer, other = tokens["district"], tokens["district_other"]
    first = districts(services)[0]
    here, there = communes(services, first)[:2]
    an = _child(client, officer, here)
    namesake = _child(client, officer, there)  # the same name in another commune
    mai = _child(client, officer, here, "Lò Thị Mai")
    last = mai["position"]

    for token in (officer, tokens["finance"], tokens["auditor"], tokens["admin"]):
        by_code = _find(client, token, here, an["code"].lower(), last)
        assert [c["id"] for c in by_code] == [an["id"]]
        assert by_code[0] == {"id": an["id"], "code": an["code"], "district": first, "commune": here,
                              "registered_position": an["position"], "merged_into": None}
        for spelling in ("NGUYEN VAN AN", "nguyễn  văn an", "Nguyễn Văn An"):
            assert [c["id"] for c in _find(client, token, here, spelling, last)] == [an["id"]]
    assert [c["id"] for c in _find(client, officer, there, "nguyen van an", last)] == [namesake["id"]]
    # Exact names only, and a code is looked for in the commune asked.
    assert _find(client, officer, here, "Nguyen Van", last) == []
    assert _find(client, officer, there, an["code"], last) == []
    # No personal data in the list.
    listed = client.get(API + "/children", params={"commune": here, "q": "nguyen van an"},
                        headers=auth(officer)).text
    assert "Nguy" not in listed and "2015" not in listed

    # Another district's officer learns nothing: the commune is refused as outside their district.
    refused = client.get(API + "/children", params={"commune": here, "q": an["code"]},
                         headers=auth(other))
    assert refused.status_code == 403, refused.text
    assert an["id"] not in refused.text and an["code"] not in refused.text
    assert get(client, "/children/duplicates", other, after=last)["items"] == []
    get(client, "/children", officer, 422, q="x")  # the commune is required


def test_a_second_registration_is_warned_of_listed_and_merged(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, officer, other = tokens["finance"], tokens["district"], tokens["district_other"]
    first = districts(services)[0]
    here, there = communes(services, first)[:2]
    _funded(client, fin, here)
    kept = _child(client, officer, here)
    assert kept["possible_duplicates"] == []
    assert _child(client, officer, here, birth_year=2016)["possible_duplicates"] == []  # another year
    assert _child(client, officer, there)["possible_duplicates"] == []  # another commune
    again = _child(client, officer, here, "NGUYEN van an")  # a warning, not a refusal
    assert again["possible_duplicates"] == [kept["id"]]

    groups = get(client, "/children/duplicates", officer, after=again["position"])["items"]
    assert len(groups) == 1
    assert {c["id"] for c in groups[0]["children"]} == {kept["id"], again["id"]}
    assert groups[0]["children"][0] == {"id": groups[0]["children"][0]["id"],
                                        "code": groups[0]["children"][0]["code"], "commune": here}
    assert groups == get(client, "/children/duplicates", fin, commune=here)["items"]
    assert get(client, "/children/duplicates", fin, commune=there)["items"] == []

    # Each record got support once; the duplicate's is the kept child's once merged.
    gift = _give(client, officer, here, again["id"])
    # Another district's officer: both children unknown, as an id nobody registered.
    unknown = "00000000-0000-4000-8000-000000000000"
    for child_id, into in ((again["id"], kept["id"]), (unknown, kept["id"])):
        refused = post(client, f"/children/{child_id}/merge", other,
                       {"into": into, "reason": "cùng một em"}, expect=404)
        assert refused["code"] == "not_found"
    post(client, f"/children/{kept['id']}/merge", officer, {"into": kept["id"], "reason": "x"}, expect=422)
    merged = post(client, f"/children/{again['id']}/merge", officer,
                  {"into": kept["id"], "reason": "cùng một em, đăng ký hai lần"})
    assert merged["id"] == again["id"]
    post(client, f"/children/{again['id']}/merge", officer, {"into": kept["id"], "reason": "x"},
         expect=409)
    assert get(client, "/children/duplicates", officer, after=merged["position"])["items"] == []
    found = _find(client, officer, here, again["code"], merged["position"])
    assert found[0]["merged_into"] == kept["id"]

    # The kept child already has this season's Tết support (the duplicate's): no second one
    # without a reason; the merged record can't be named at all.
    assert _give(client, officer, here, kept["id"], expect=409)["code"] == "duplicate_support"
    named = _give(client, officer, here, again["id"], expect=422)
    assert kept["code"] in named["detail"]
    assert _give(client, officer, here, kept["id"], duplicate_reason="lũ quét")["overrides"] == 1

    # Reversing the duplicate's distribution withdraws it from the kept record too.
    mai = _child(client, officer, here, "Lò Thị Mai")
    mai_again = _child(client, officer, here, "Lò Thị Mai")
    given_twice = _give(client, officer, here, mai_again["id"])
    post(client, f"/children/{mai_again['id']}/merge", fin, {"into": mai["id"], "reason": "một em"})
    assert _give(client, officer, here, mai["id"], expect=409)["code"] == "duplicate_support"
    post(client, "/reversals", fin, {"target_id": given_twice["id"], "reason": "ghi nhầm"})
    _give(client, officer, here, mai["id"])  # no standing support left: allowed
    history = get(client, f"/children/{again['id']}/history", officer)
    assert [s["distribution_id"] for s in history["support"]] == [gift["id"]]


def test_erasure_removes_a_child_from_search_and_duplicates(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    officer, admin = tokens["district"], tokens["admin"]
    first = districts(services)[0]
    here = communes(services, first)[0]
    one = _child(client, officer, here, "Hoàng Thị Hà")
    two = _child(client, officer, here, "Hoàng Thị Hà")
    assert two["possible_duplicates"] == [one["id"]]
    assert len(get(client, "/children/duplicates", admin, after=two["position"])["items"]) == 1
    erased = post(client, f"/children/{one['id']}/erase", admin, {"reason": "yêu cầu của gia đình"})
    assert services.db.query_one("SELECT 1 AS kept FROM child_keys WHERE child_id = ?", (one["id"],)) is None
    assert [c["id"] for c in _find(client, officer, here, "hoang thi ha", erased["position"])] == [two["id"]]
    assert get(client, "/children/duplicates", admin)["items"] == []
    assert _child(client, officer, here, "Hoàng Thị Hà")["possible_duplicates"] == [two["id"]]
    # Its code is pseudonymous, not personal: the record itself stays findable by code.
    assert [c["id"] for c in _find(client, officer, here, one["code"], erased["position"])] == [one["id"]]
