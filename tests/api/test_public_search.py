"""The public search finds a gift only by what is public (issue 10, item 5): its public name
(diacritics or not), reference, amount and date; never a legal name hidden behind a public name,
never an anonymous donor's gift by name. A donor finds their gift by the exact bank reference of
their transfer, which answers that one gift's public facts and nothing else."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient

from tests.helpers import API, donor, get, receipt

BANK_REF = "FT21060123456789"


def _search(client: TestClient, q: str) -> dict[str, list[str]]:
    """What each public search answers for `q`: the donor names the JSON, the page and the CSV
    show."""
    listed = get(client, "/public/donations", q=q)["items"]
    page = client.get("/donations", params={"q": q})
    csv = client.get("/donations.csv", params={"q": q})
    assert page.status_code == 200 and csv.status_code == 200
    return {"json": [r["donor"] for r in listed], "page": [page.text], "csv": csv.text.splitlines()[1:]}


def test_a_hidden_legal_name_and_an_anonymous_donor_find_nothing(client: TestClient,
                                                                 tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    hidden = donor(client, fin, "Trần Bí Mật", public_name="Một nhà hảo tâm")
    anonymous = donor(client, fin, "Lăng Văn Kín", anonymous=True)
    shown = donor(client, fin, "Nguyễn Thị Hoa", public_name="Nguyễn Thị Hoa")
    receipt(client, fin, hidden, 1_000_000)
    receipt(client, fin, anonymous, 2_000_000)
    last = receipt(client, fin, shown, 3_000_000)
    get(client, "/public/summary", after=last["position"])  # the read models have caught up

    for q in ("bi mat", "Trần Bí Mật", "TRAN BI", "lang van kin", "Kín"):
        found = _search(client, q)
        assert found["json"] == [] and found["csv"] == [], q
        assert "Một nhà hảo tâm" not in found["page"][0] and "Ẩn danh" not in found["page"][0], q
    # The public names are found, with or without diacritics, in any case.
    assert _search(client, "mot nha hao tam")["json"] == ["Một nhà hảo tâm"]
    assert _search(client, "NGUYEN thi")["json"] == ["Nguyễn Thị Hoa"]
    assert _search(client, "Nguyễn")["json"] == ["Nguyễn Thị Hoa"]
    # An anonymous gift is listed as "Ẩn danh", found by amount or reference, never by a name.
    [gift] = get(client, "/public/donations", min_vnd=2_000_000, max_vnd=2_000_000)["items"]
    assert gift["donor"] == "Ẩn danh"
    assert [r["donor"] for r in get(client, "/public/donations", q=gift["reference"])["items"]] == [
        "Ẩn danh"]
    assert _search(client, "an danh")["json"] == []  # "Ẩn danh" is not a name to search by


def test_the_exact_bank_reference_finds_the_one_gift(client: TestClient,
                                                     tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    mine = receipt(client, fin, donor(client, fin, "Lò Văn Pá", anonymous=True), 4_500_000,
                   bank_txn_id=BANK_REF)
    other = receipt(client, fin, donor(client, fin, "Hà Thị Dung", public_name="Hà Thị Dung"),
                    4_500_000, bank_txn_id="FT21060123456788")
    get(client, "/public/summary", after=max(mine["position"], other["position"]))

    answer = client.get(f"{API}/public/donations/by-bank-reference/{BANK_REF}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    found = answer.json()
    assert found["reference"] == mine["reference"]
    assert (found["donor"], found["amount_vnd"], found["reversed"]) == ("Ẩn danh", 4_500_000, False)
    assert "items" not in found  # one gift, never a list
    assert BANK_REF not in answer.text and "FT2106" not in answer.text
    # Exact match only: no prefix, no other case, no wildcard.
    for wrong in (BANK_REF[:-1], BANK_REF.lower(), BANK_REF[:-2] + "%", "_" * len(BANK_REF)):
        missing = client.get(f"{API}/public/donations/by-bank-reference/{quote(wrong)}")
        assert missing.status_code == 404, wrong
        assert missing.json()["code"] == "not_found"
    # The bank reference is in no other public answer, and the search does not reach it.
    assert get(client, "/public/donations", q=BANK_REF)["items"] == []
    for path in (f"{API}/public/donations", f"{API}/public/summary", "/donations", "/donations.csv",
                 f"/donations/{mine['reference']}"):
        assert "FT2106" not in client.get(path).text, path
    # The follow page takes it too, and leads to the gift's page.
    follow = client.get("/follow", params={"reference": f" {BANK_REF} "}, follow_redirects=False)
    assert follow.status_code == 303
    assert follow.headers["location"] == f"/donations/{mine['reference']}"


def test_the_bank_reference_lookup_is_in_the_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][f"{API}/public/donations/by-bank-reference/{{bank_reference}}"]["get"]
    assert "exact" in operation["description"].lower()
    assert "404" in operation["responses"]
