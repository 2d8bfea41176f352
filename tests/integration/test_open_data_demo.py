"""Issue 13, item 6 over the demo: the IATI 2.03 activities and the 360Giving package validate
against the standards' schemas, add up to `/public/summary`, hold none of the demo's private
strings (taken from the store, as tests/integration/test_demo_crawl.py does) and no count of
children below 5. One test: loading the demo takes most of a minute."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from fastapi.testclient import TestClient
from lxml import etree

from api.app import create_app
from domain.small_cells import SHOWN_AS
from ledger.demo import load_demo
from tests.api.test_public_crawl import Needles
from tests.conftest import make_services
from tests.helpers import API
from tests.integration.test_demo_crawl import private_strings
from tests.open_data import giving_errors, iati_errors

COUNT = re.compile(r"số trẻ em được hỗ trợ: (< 5|\d+)\.")


def test_demo_open_data_validates_adds_up_and_keeps_private_things_private(tmp_path: Path) -> None:
    services = make_services(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path / "data")
    try:
        load_demo(services.ledger)
        services.runner.catch_up()
        secrets, _ = private_strings(services)
        with TestClient(create_app(services=services)) as client:
            iati = client.get(API + "/public/open-data/iati.xml")
            package = client.get(API + "/public/open-data/360giving.json")
            flat = client.get(API + "/public/open-data/360giving.csv")
            summary = client.get(API + "/public/summary").json()
        assert iati.status_code == package.status_code == flat.status_code == 200
        assert iati_errors(iati.content) == []
        assert giving_errors(package.json()) == []
        grants = package.json()["grants"]
        assert len(grants) > 20
        assert sum(g["amountAwarded"] for g in grants) == summary["allocated_vnd"]
        assert sum(g["amountDisbursed"] for g in grants) == summary["distributed_vnd"]
        totals: dict[str, int] = {}
        for tx in etree.fromstring(iati.content).iter("transaction"):
            code = tx.find("transaction-type").get("code")
            totals[code] = totals.get(code, 0) + int(tx.find("value").text)
        assert totals["1"] == totals["2"] == summary["allocated_vnd"]
        assert totals["4"] == summary["distributed_vnd"]
        rows = list(csv.DictReader(io.StringIO(flat.text)))
        assert [r["Identifier"] for r in rows] == [g["id"] for g in grants]
        needles = Needles(secrets)
        for answer in (iati, package, flat):
            assert needles.found(answer.text) == []
            text = answer.text.replace("&lt;", "<")
            counts = COUNT.findall(text)
            assert len(counts) == len(grants)
            assert all(c == SHOWN_AS or int(c) == 0 or int(c) >= 5 for c in counts)
    finally:
        services.close()
