"""Item 3 of issue 10: no private byte in any public answer.

Builds a ledger whose every private field carries a distinctive marker (and one made of hostile
strings), then crawls every GET route that needs no token (found from the app itself, path
parameters filled from the ledger), decodes every base64 and hex string it meets, recursively,
and looks for the private strings in the answers and in everything decoded from them; a leak is
named by route, decoding path and string. tests/integration/test_demo_crawl.py runs the same
crawl over the demo."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.access import needs_token
from ledger.bootstrap import CompositionRoot
from tests.helpers import communes, get, post

NOTE = "BI-MAT-NOTE-1"
LEGAL = "Trần Bí Mật"
PUBLIC = "Một nhà hảo tâm"
REQUEST_ID = "REQ-SECRET-42"
TXN = "FT-SECRET-9"
STAFF_NAME = "staff-secret-name"
CHILD_NAME = "Lò Thị Bí Mật"
GUARDIAN = "Hoàng Văn Giám Hộ"
HOSTILE = ["<script>alert(1)</script>", "'; DROP TABLE donors; --", "\u0301x\\u0000 \"quoted\"", "%00%0a",
           "{{7*7}}", "ĐĐĐ đặc biệt ẞ ﷽", "A" * 190]
_B64 = re.compile(r"^[A-Za-z0-9+/_-]{12,}={0,2}$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2}){8,}$")


def _decodings(value: str) -> list[tuple[str, bytes]]:
    out = []
    if _HEX.match(value):
        out.append(("hex", bytes.fromhex(value)))
    if _B64.match(value):
        for name, decode in (("base64", base64.b64decode), ("base64url", base64.urlsafe_b64decode)):
            with contextlib.suppress(binascii.Error, ValueError):
                out.append((name, decode(value + "=" * (-len(value) % 4))))
    return out


def _texts(data: Any, where: str, depth: int = 0) -> list[tuple[str, str]]:
    """Every string in a JSON value, plus everything decoded from it (JSON decoded inside too)."""
    if depth > 6:
        return []
    if isinstance(data, dict):
        return [t for k, v in data.items() for t in
                [(f"{where}.{k}", str(k)), *_texts(v, f"{where}.{k}", depth)]]
    if isinstance(data, list):
        return [t for i, v in enumerate(data) for t in _texts(v, f"{where}[{i}]", depth)]
    if not isinstance(data, str):
        return [(where, str(data))]
    return [(where, data), *_decoded(data, where, depth)]


def _decoded(text: str, where: str, depth: int) -> list[tuple[str, str]]:
    found = []
    for word in {text, *re.findall(r"[A-Za-z0-9+/=_-]{12,}", text)}:
        for how, raw in _decodings(word):
            decoded = raw.decode("utf-8", "replace")
            found.append((f"{where}<{how}>", decoded))
            with contextlib.suppress(ValueError):
                found += _texts(json.loads(raw), f"{where}<{how}:json>", depth + 1)
    return found


def _ledger(client: TestClient, services: CompositionRoot, tokens: dict[str, str],
            odd: list[str]) -> dict[str, Any]:
    """A ledger with markers (and `odd` strings) in every private field; what the crawl looks for."""
    from adapters.tokens import create_token

    fin = create_token(services.db, name=STAFF_NAME, role="finance")
    rid = {"X-Request-ID": REQUEST_ID}
    commune = communes(services)[0]
    hidden = post(client, "/donors", fin, {"name": LEGAL, "kind": "individual", "public_name": PUBLIC,
                                           "contact": "0900 BI-MAT-CONTACT " + odd[0]}, **rid)["id"]
    anonymous = post(client, "/donors", fin, {"name": "Ẩn Danh Bí Mật " + odd[1],
                                              "kind": "individual", "anonymous": True}, **rid)["id"]
    def gift(donor_id: str, amount: int, **extra: Any) -> dict[str, Any]:
        body = {"donor_id": donor_id, "fund": "campaign", "received_on": "2021-03-01",
                "channel": "bank", "amount_vnd": amount, **extra}
        return post(client, "/receipts", fin, body, **rid)

    gifts = [gift(hidden, 3_000_000, note=f"{NOTE} {odd[2]}", bank_txn_id=TXN),
             gift(anonymous, 2_000_000, note=f"{NOTE} ND: CK tu 0123456789 {odd[3]}"),
             gift(anonymous, 1_000_000)]
    child = post(client, "/children", fin, {"commune": commune, "full_name": CHILD_NAME,
                                            "birth_year": 2016, "guardian_name": GUARDIAN,
                                            "circumstances": "BI-MAT-CIRCUMSTANCE " + odd[4]}, **rid)
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "tet-gifts", "amount_vnd": 1_500_000,
                                       "decision_ref": "QD-1", "note": NOTE}, **rid)
    last = post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "tet-gifts", "distributed_on": "2021-03-02",
        "lines": [{"child_id": child["id"], "description": f"{NOTE} {odd[5]}", "value_vnd": 500_000}]},
        **rid)
    get(client, "/public/summary", after=last["position"])
    services.tree_heads.publish()
    secrets = [NOTE, LEGAL, TXN, REQUEST_ID, STAFF_NAME, CHILD_NAME, GUARDIAN, "BI-MAT-CONTACT",
               "BI-MAT-CIRCUMSTANCE", "0123456789", anonymous, hidden, child["id"],
               "Ẩn Danh Bí Mật"]
    return {"gifts": gifts, "commune": commune, "secrets": secrets, "last": last["position"]}


def _urls(client: TestClient, services: CompositionRoot, built: dict[str, Any]) -> list[str]:
    commune = built["commune"]
    district = services.areas.district_of(commune)
    return public_urls(client, {"reference": [g["reference"] for g in built["gifts"]],
                                "code": [district, commune]}, range(1, built["last"] + 1))


def public_urls(client: TestClient, fill: dict[str, list[str]], positions: Iterable[int]) -> list[str]:
    """Every GET of the API's OpenAPI document that needs no token, and the web pages, with path
    parameters from `fill`; inclusion proofs of `positions` and a consistency proof."""
    head = get(client, "/audit/tree-head")
    urls = [f"/api/v1/audit/proofs/inclusion?position={p}&tree_size={head['tree_size']}"
            for p in positions]
    urls.append(f"/api/v1/audit/proofs/consistency?first=1&second={head['tree_size']}")
    api_paths = [p for p, ops in client.get("/openapi.json").json()["paths"].items() if "get" in ops]
    pages = ["/", "/donations", "/donations.csv", "/follow", "/needs", "/verify",
             "/districts/{code}", "/communes/{code}", "/donations/{reference}"]
    for path in [*api_paths, *pages]:
        if needs_token(path) or path in ("/metrics", "/healthz", "/readyz"):
            continue  # operational answers: no ledger data
        names = re.findall(r"{(\w+)}", path)
        if not names:
            urls.append(path)
        for name in names[:1]:
            urls += [path.replace("{" + name + "}", quote(v, safe="")) for v in fill.get(name, [])]
    return urls


class Needles:
    """Finds private strings in public text, word by word (case-folded), fast enough for the
    demo's thousands of strings over its whole export: a string is found when its words appear
    in a row, as they would in any copy of it."""

    def __init__(self, secrets: list[str]) -> None:
        self.by_start: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = {}
        for secret in secrets:
            words = tuple(_words(secret))
            if words:
                self.by_start.setdefault(words[:2], []).append((secret, words))

    def found(self, text: str) -> list[str]:
        words, hits = _words(text), []
        for i in range(len(words)):
            for start in (tuple(words[i:i + 2]), (words[i],)):
                hits += [secret for secret, w in self.by_start.get(start, ())
                         if tuple(words[i:i + len(w)]) == w]
        return hits


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _answer_texts(url: str, body: str) -> list[tuple[str, str]]:
    """Every text of one answer: JSON, JSON Lines (the export), else HTML or CSV with every
    attribute-like word decoded."""
    with contextlib.suppress(ValueError):
        return _texts(json.loads(body), url)
    lines = body.splitlines()
    with contextlib.suppress(ValueError):
        return [t for n, line in enumerate(lines) for t in _texts(json.loads(line), f"{url}#{n}")]
    texts = [(url, body), *_decoded(body, url, 0)]
    for attr in re.findall(r"""["'>=\s]([A-Za-z0-9+/=_-]{12,})""", body):
        texts += _decoded(attr, url, 0)
    return texts


def _crawl(client: TestClient, urls: list[str], secrets: list[str]) -> list[str]:
    needles, leaks = Needles(secrets), []
    for url in urls:
        response = client.get(url)
        if response.status_code >= 400:
            continue  # an error carries no ledger data (asserted by the problem tests)
        for where, text in _answer_texts(url, response.text):
            leaks += [f"{where}: {s!r}" for s in needles.found(text)]
    return sorted(set(leaks))


@pytest.mark.parametrize("odd", [["plain"] * 6, HOSTILE[:6]], ids=["markers", "hostile"])
def test_no_private_byte_in_any_public_answer(client: TestClient, services: CompositionRoot,
                                              tokens: dict[str, str], odd: list[str]) -> None:
    built = _ledger(client, services, tokens, odd)
    urls = _urls(client, services, built)
    assert any("/public/donations/PT-" in u for u in urls) and any("/public/export" in u for u in urls)
    leaks = _crawl(client, urls, built["secrets"])
    assert leaks == [], "private bytes in public answers:\n" + "\n".join(leaks)
