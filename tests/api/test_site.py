"""The public pages as HTTP answers (the browser tests drive them in Chromium): headers, caching,
downloads, places, small counts, and both languages — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from ledger.bootstrap import CompositionRoot
from tests.helpers import API, communes, donor, post, receipt


def _ledger(client: TestClient, services: CompositionRoot, fin: str) -> tuple[str, str, int]:
    """A receipt from 'Nguyễn Thị Hoà', allocated to a commune, handed to 3 children there."""
    commune = communes(services)[0]
    d = donor(client, fin, "Nguyễn Thị Hoà")
    paid = receipt(client, fin, d, 5_000_000)
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "warm-clothing", "amount_vnd": 3_000_000,
                                       "decision_ref": "QĐ 12/QĐ-UBND"})
    children = [post(client, "/children", fin, {"commune": commune, "full_name": name, "birth_year": 2014})
                for name in ("Lò Văn Páo", "Vi Thị Mai", "Hoàng Văn Sáng")]
    made = post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "warm-clothing", "distributed_on": "2021-12-01",
        "lines": [{"child_id": c["id"], "description": "Áo ấm", "value_vnd": 300_000} for c in children]})
    return commune, paid["reference"], int(made["position"])


def test_public_pages_headers_cache_and_downloads(client: TestClient, services: CompositionRoot,
                                                  tokens: dict[str, str]) -> None:
    commune, reference, position = _ledger(client, services, tokens["finance"])
    services.runner.ensure(position)

    home = client.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    csp = home.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert home.headers["x-content-type-options"] == "nosniff"
    assert home.headers["cache-control"].startswith("public")
    again = client.get("/", headers={"If-None-Match": home.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert "5.000.000 ₫" in home.text  # received, in Vietnamese style

    summary = client.get(API + "/public/summary")
    assert summary.headers["etag"] and "content-security-policy" in summary.headers
    assert client.get(API + "/public/summary",
                      headers={"If-None-Match": summary.headers["etag"]}).status_code == 304
    # The API docs too: their assets are ours (fastapi-offline), started from a file.
    docs = client.get("/docs")
    assert docs.headers["content-security-policy"] == summary.headers["content-security-policy"]
    assert "<script>" not in docs.text and "cdn" not in docs.text.lower()
    assert client.get("/static/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404  # not served: docs/decisions.md

    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.text and "Received" in english.text

    found = client.get("/donations", params={"q": "NGUYEN THI HOA"})
    assert reference in found.text and "Nguyễn Thị Hoà" in found.text
    assert reference in client.get("/donations", params={"q": "hoà", "min_vnd": "", "from": ""}).text
    assert reference not in client.get("/donations", params={"q": "hoa", "min_vnd": "6.000.000"}).text
    download = client.get("/donations.csv", params={"q": "nguyen thi hoa"})
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(r["reference"], r["amount_vnd"]) for r in rows] == [(reference, "5000000")]

    followed = client.get("/follow", params={"reference": reference.lower()}, follow_redirects=False)
    assert followed.status_code == 303 and followed.headers["location"] == f"/donations/{reference}"
    page = client.get(f"/donations/{reference}")
    assert page.status_code == 200 and "QĐ 12/QĐ-UBND" in page.text
    assert client.get("/donations/PT-1999-000001").status_code == 404

    # One commune, one category, three children: the public sees "< 5", and no child's name.
    place = client.get(f"/communes/{commune}")
    assert place.status_code == 200 and "&lt; 5" in place.text
    for name in ("Lò Văn Páo", "Vi Thị Mai", "Hoàng Văn Sáng"):
        for path in ("/", f"/communes/{commune}", f"/donations/{reference}", "/needs"):
            assert name not in client.get(path).text
    assert client.get("/communes/nowhere").status_code == 404
    district = services.areas.district_of(commune)
    assert client.get(f"/districts/{district}").status_code == 200
    services.tree_heads.publish()
    verify = client.get("/verify")
    assert verify.status_code == 200 and services.tree_heads.public_key in verify.text
    assert " UTC" in verify.text and "/api/v1/public/export" in verify.text
