"""No public answer, JSON or HTML, shows a count of persons below 5 (issue 10, item 6): every
such count is 0, 5 or more, or "< 5", at every grain, in the summary (headline, by district, by
category), the needs, a donation's distributions, and the overview, needs, district and commune
pages. The ledger has small counts everywhere: 3 children in one commune over two categories, one
child supported twice, a counted group of 7, needs of 2 and 6 children, and 3 donors."""

from __future__ import annotations

import re
import uuid
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from domain.meta import Context
from domain.small_cells import PERSON_COUNTS, SHOWN_AS, is_hidden_or_large
from ledger.bootstrap import CompositionRoot
from tests.helpers import API

CTX = Context(actor="test", role="finance", request_id="public-counts")
CATEGORIES = ("warm-clothing", "nutrition-health")


def _h() -> str:
    return uuid.uuid4().hex


def small_ledger(services: CompositionRoot) -> tuple[str, str, str, str]:
    """(district, commune with 3 named children, commune with a group of 7, a receipt's reference)."""
    ledger = services.ledger
    [first, second] = [a for a in services.areas.communes() if a.parent and a.extremely_difficult][:2]
    donors = [UUID(ledger.register_donor(CTX, _h(), name=n, kind="organisation", public_name=n)["id"])
              for n in ("Công ty A", "Công ty B", "Công ty C")]
    for d in donors:
        ledger.record_receipt(CTX, _h(), donor_id=d, fund="campaign", received_on="2021-10-01",
                              channel="cash", amount_vnd=10_000_000)
    kids = [ledger.register_child(CTX, _h(), commune=first.code,
                                  personal={"full_name": f"Trẻ {n}", "birth_year": 2015})["id"]
            for n in range(3)]
    for category in CATEGORIES:
        ledger.allocate(CTX, _h(), fund="campaign", season="2021", commune=first.code,
                        category=category, decision_ref="QĐ 1", amount_vnd=1_000_000)
        ledger.distribute(CTX, _h(), season="2021", commune=first.code, category=category,
                          distributed_on="2021-12-01",
                          lines=[{"child_id": k, "description": "x", "value_vnd": 1_000}
                                 for k in kids])
    # One child supported twice in a season and category: one override.
    ledger.distribute(CTX, _h(), season="2021", commune=first.code, category=CATEGORIES[0],
                      distributed_on="2021-12-02", duplicate_reason="Ốm",
                      lines=[{"child_id": kids[0], "description": "x", "value_vnd": 1_000}])
    ledger.allocate(CTX, _h(), fund="campaign", season="2021", commune=second.code,
                    category=CATEGORIES[0], decision_ref="QĐ 2", amount_vnd=1_000_000)
    ledger.distribute(CTX, _h(), season="2021", commune=second.code, category=CATEGORIES[0],
                      distributed_on="2021-12-01", beneficiaries_count=7,
                      lines=[{"description": "Nhóm", "quantity": 7, "value_vnd": 7_000}])
    ledger.record_need(CTX, _h(), season="2021", commune=first.code, category=CATEGORIES[0],
                       children_count=2, estimated_vnd=1_000_000)
    ledger.record_need(CTX, _h(), season="2021", commune=second.code, category=CATEGORIES[0],
                       children_count=6, estimated_vnd=1_000_000)
    services.runner.catch_up()
    reference = services.queries.donations(limit=1)[0][0]["reference"]
    return str(first.parent), first.code, second.code, reference


def person_counts(answer: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every count of persons in a JSON answer, by where it sits."""
    found: list[tuple[str, Any]] = []
    if isinstance(answer, dict):
        for k, v in answer.items():
            if k in PERSON_COUNTS and not isinstance(v, (dict, list)):
                found.append((f"{path}.{k}", v))
            else:
                found += person_counts(v, f"{path}.{k}")
    elif isinstance(answer, list):
        for n, v in enumerate(answer):
            found += person_counts(v, f"{path}[{n}]")
    return found


CELL = re.compile(r'<(?:dd|span) id="(children-reached|donors-count|overrides|place-children)">([^<]*)<')


def page_counts(html: str) -> list[tuple[str, str]]:
    """The counts of persons a page shows: the totals by id, and the children column of every
    table (the last numeric column of the places' tables, the third of the needs')."""
    found = [(m.group(1), m.group(2)) for m in CELL.finditer(html)]
    for table in re.findall(r"<table[^>]*>.*?</table>", html, re.S):
        heads = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', table)
        columns = [n for n, h in enumerate(heads) if h in ("Số trẻ em được hỗ trợ", "Số trẻ em",
                                                             "Trẻ em", "Children reached",
                                                             "Children")]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for n in columns:
                if n < len(cells):
                    found.append((f"table col {heads[n]}", re.sub(r"<[^>]+>", "", cells[n]).strip()))
    return found


def shown_ok(text: str) -> bool:
    return text == SHOWN_AS or (text.replace(".", "").isdigit() and (
        int(text.replace(".", "")) == 0 or int(text.replace(".", "")) >= 5))


def test_no_count_of_persons_below_5_in_any_public_answer(client: TestClient,
                                                          services: CompositionRoot) -> None:
    district, named, grouped, reference = small_ledger(services)
    answers = [get_json(client, "/public/summary"), get_json(client, "/public/summary", season="2021"),
               get_json(client, "/public/needs"), get_json(client, f"/public/donations/{reference}")]
    counts = [c for a in answers for c in person_counts(a)]
    assert len(counts) >= 10
    assert all(is_hidden_or_large(v) for _, v in counts), counts
    summary = answers[1]
    # The small cells are there, hidden: 3 named + 7 counted children are 10 in all.
    assert summary["children_reached"] == 10
    assert summary["duplicate_overrides"] == SHOWN_AS and summary["donors"] == SHOWN_AS
    assert {r["category"]: r["children_reached"] for r in summary["by_category"]} == {
        CATEGORIES[0]: 10, CATEGORIES[1]: SHOWN_AS}
    assert SHOWN_AS in [n["children_count"] for n in answers[2]["items"]]

    pages = ["/", "/?season=2021", "/needs", f"/districts/{district}", f"/communes/{named}",
             f"/communes/{grouped}", "/?lang=en", f"/districts/{district}?lang=en"]
    shown: list[tuple[str, str]] = []
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        on_page = [(where, text.replace("&lt;", "<")) for where, text in page_counts(page.text)]
        assert on_page, path
        shown += on_page
        assert all(shown_ok(text) for _, text in on_page), (path, on_page)
    assert ("place-children", SHOWN_AS) in shown and ("children-reached", "10") in shown


def get_json(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    answer = client.get(API + path, params=params)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data
