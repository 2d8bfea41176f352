"""Item 3 of issue 10 over the demo: no private byte of the demo ledger in any public answer.

The private strings are taken from the store itself, not from a list kept by hand: every string
an event stores that its public leaf does not show (notes, reasons, bank references, transfer
texts, donor and pledge ids, request ids, sealed ciphertexts), every donor's legal name and
contact behind a different public name, every child's name, guardian and circumstances, and the
staff's token names. A string the public may see elsewhere (a public name, a place, a category)
is not private and is left out. Then the crawl of tests/api/test_public_crawl.py runs over every
public route, the whole export, every page of the public lists, every district and commune, and
a sample of donation pages, bank-reference lookups and proofs."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from adapters.tokens import create_token, list_tokens
from api.app import create_app
from domain.children import Child
from domain.donors import Donor
from domain.leaf import decode_state
from ledger.audit import LeafBuilder
from ledger.bootstrap import CompositionRoot
from ledger.demo import load_demo
from ledger.demo_bank import load_bank_demo
from tests.api.test_public_crawl import Needles, _crawl, public_urls
from tests.conftest import make_services
from tests.helpers import API

# Stored keys whose values are the library's or the role's bookkeeping, not anyone's data.
BOOKKEEPING = {"timestamp", "originator_topic", "role", "idempotency_key", "_type_"}
SAMPLE = 60


def _strings(value: Any, key: str = "") -> Iterator[str]:
    if key in BOOKKEEPING:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)
    elif isinstance(value, str):
        yield value


def _worth_looking_for(text: str) -> bool:
    # Too short or all digits and punctuation (amounts, dates, years) to be anyone's data alone.
    return len(text) >= 6 and not re.fullmatch(r"[\d\s.,:/+-]*", text)


def private_strings(services: CompositionRoot) -> tuple[list[str], dict[str, list[str]]]:
    """The demo's private strings, and what to crawl: receipts' references and bank ids."""
    public: set[str] = set()
    private: set[str] = set()
    receipts: list[tuple[str, str | None]] = []
    leaves = LeafBuilder()
    notifications = services.ledger.recorder.select_notifications(start=1, limit=10**7)
    for n in notifications:
        attrs = decode_state(n.state)
        shown_leaf = json.loads(leaves.leaf(n))
        facts = shown_leaf["public"]
        shown = {shown_leaf["topic"], *_strings(facts)}
        public |= shown
        private |= set(_strings(attrs)) - shown
        kind = n.topic.rpartition(":")[2]
        if kind == "Receipt.Recorded":
            receipts.append((facts["reference"], attrs.get("bank_txn_id")))
        elif kind == "Donor.Registered":
            donor = services.ledger.find_or_none(UUID(str(n.originator_id)), Donor)
            assert donor is not None
            personal = services.ledger.donor_personal_data(donor) or {}
            private |= {v for v in personal.values() if v and v != donor.public_name}
        elif kind == "Child.Registered":
            child = services.ledger.find_or_none(UUID(str(n.originator_id)), Child)
            assert child is not None
            personal = services.ledger.child_personal_data(child) or {}
            private |= {v for v in personal.values() if isinstance(v, str)}
    private |= {t.name for t in list_tokens(services.db)}
    candidates = [s for s in private - public if _worth_looking_for(s)]
    # A legal name inside the public name the donor chose ("Gia đình anh Vũ Xuân Tài") is shown
    # by the donor's choice: what a public string holds is public.
    needles = Needles(candidates)
    inside_public = {hit for text in public for hit in needles.found(text)}
    secrets = sorted(set(candidates) - inside_public)
    rng = random.Random(2021)
    sample = rng.sample(receipts, SAMPLE)
    return secrets, {"reference": [r for r, _ in sample],
                     "bank_reference": [b for _, b in sample if b]}


def _pages(client: TestClient, path: str, limit: int | None) -> list[str]:
    """Every page of a public list, by following its cursors."""
    urls, cursor = [], None
    while True:
        url = path + (f"?limit={limit}" if limit else "?") + (f"&cursor={cursor}" if cursor else "")
        urls.append(url)
        if not limit:
            return urls  # an HTML list: its first page (the others are the same rows, in JSON)
        cursor = client.get(url).json()["next_cursor"]
        if cursor is None:
            return urls


def _grouped(leaks: list[str]) -> str:
    """One line per private string found: how often, and one place."""
    by_secret: dict[str, list[str]] = {}
    for leak in leaks:
        where, _, secret = leak.rpartition(": ")
        by_secret.setdefault(secret, []).append(where)
    return "\n".join(f"{secret} ×{len(w)}, e.g. {w[0]}" for secret, w in sorted(by_secret.items()))


def test_no_private_byte_of_the_demo_in_any_public_answer(tmp_path: Path) -> None:
    services = make_services(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path / "data")
    try:
        load_demo(services.ledger)
        load_bank_demo(services)
        create_token(services.db, name="kế-toán-nguyễn-thị-hoa", role="finance")
        services.runner.catch_up()
        services.tree_heads.publish()
        secrets, fill = private_strings(services)
        # The kinds of private data the issue names are all among what is looked for.
        assert len(secrets) > 5000
        assert any(s.startswith("demo-") for s in secrets)  # request ids
        assert any(s.startswith("FT") for s in secrets)  # bank references
        assert "kế-toán-nguyễn-thị-hoa" in secrets
        with TestClient(create_app(services=services)) as client:
            areas = [a.code for a in services.areas.all() if a.kind in ("district", "commune")]
            head = client.get(API + "/audit/tree-head").json()["tree_size"]
            positions = random.Random(5).sample(range(1, head + 1), 30)
            urls = public_urls(client, {**fill, "code": areas}, positions)
            urls += _pages(client, API + "/public/donations", 200)
            assert any("/public/export" in u for u in urls)
            assert any("/by-bank-reference/" in u for u in urls)
            leaks = _crawl(client, urls, secrets)
        assert leaks == [], f"{len(leaks)} private strings in public answers:\n" + _grouped(leaks)
    finally:
        services.close()
