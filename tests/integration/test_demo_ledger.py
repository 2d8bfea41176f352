"""The demo ledger on a real SQLite file and a real PostgreSQL: invariants, rebuild, privacy."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.bootstrap import CompositionRoot
from ledger.demo import load_demo
from ledger.demo_bank import STATEMENT_ACCOUNT, load_bank_demo
from projections.read_models import all_projections


def dump(services: CompositionRoot) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with services.db.read() as cur:
        for projection in all_projections():
            for table in projection.tables:
                rows = cur.execute(f"SELECT * FROM {table}").fetchall()
                tables[table] = sorted((tuple(sorted(r.items())) for r in rows), key=repr)
    return tables


def test_demo_loads_once_holds_invariants_and_rebuilds_identically(services: CompositionRoot) -> None:
    counts = load_demo(services.ledger)
    assert counts["receipts"] > 2000 and counts["distributions"] > 100
    head = services.ledger.recorder.max_notification_id()
    assert load_demo(services.ledger) == {"skipped": 1}
    assert services.ledger.recorder.max_notification_id() == head

    bank = load_bank_demo(services)
    assert bank["new_statement_lines"] == bank["statement_lines"] > 1000
    assert load_bank_demo(services)["new_statement_lines"] == 0
    account = services.bank_queries.account(STATEMENT_ACCOUNT)
    assert account is not None
    report = services.bank_queries.reconciliation(account, "2021-01-01", "2021-12-31")
    # Exactly the demo's noise is left: fees, three unknown donors, receipts the bank didn't show.
    unmatched = [int(r["amount_vnd"]) for r in report["unmatched_bank_lines"]]
    assert len([a for a in unmatched if a < 0]) >= 10 and len([a for a in unmatched if a > 0]) == 3
    assert report["unmatched_ledger_entries"]
    assert report["difference_vnd"] == sum(unmatched) - sum(
        int(e["amount_vnd"]) for e in report["unmatched_ledger_entries"])
    head = services.ledger.recorder.max_notification_id()

    services.runner.catch_up()
    assert services.runner.position() == head
    funds = services.queries.fund_balances()
    programmes = services.queries.programme_balances()
    assert all(f["available_vnd"] >= 0 for f in funds)
    assert all(p["remaining_vnd"] >= 0 for p in programmes)
    received = services.queries.summary()["received_vnd"]
    # Money and goods, which the balances show apart, together make up what was received.
    in_funds = sum(f["available_vnd"] + f["goods_value_vnd"] for f in funds)
    in_programmes = sum(p["remaining_vnd"] + p["goods_value_vnd"] for p in programmes)
    assert any(f["goods_value_vnd"] for f in funds) or any(p["goods_value_vnd"] for p in programmes)
    assert received == in_funds + in_programmes + sum(p["distributed_vnd"] for p in programmes)
    assert services.queries.trial_balance() == {
        "received_vnd": received,
        "in_funds_vnd": in_funds,
        "in_programmes_vnd": in_programmes,
        "distributed_vnd": sum(p["distributed_vnd"] for p in programmes)}

    live = dump(services)
    assert services.runner.rebuild() == head
    assert dump(services) == live
    assert_no_child_name_anywhere(services, live)


def assert_no_child_name_anywhere(services: CompositionRoot,
                                  tables: dict[str, list[tuple[Any, ...]]]) -> None:
    names = []
    for row in services.queries.db.query("SELECT child_id FROM children ORDER BY code LIMIT 100"):
        child = services.ledger.repository.get(UUID(row["child_id"]))
        personal = services.ledger.child_personal_data(child)
        assert personal is not None
        names.append(personal["full_name"])
    # A child may share a name with a donor, whose name is public by their own choice.
    donors = {r["name"] for r in services.db.query("SELECT name FROM donors")}
    names = [n for n in names if n not in donors]
    text = repr(tables)
    assert names and not [n for n in names if n in text]
    # Nor in the stored events: personal fields are sealed before they reach the log.
    stored = services.ledger.recorder.select_notifications(start=1, limit=100_000)
    blob = b"".join(n.state for n in stored)
    assert not [n for n in names if n.encode() in blob]
