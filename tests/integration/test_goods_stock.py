"""Goods stock from a log an older release wrote, on SQLite and PostgreSQL: programme pieces
without a unit are keyed by their receipt's unit, and migration 0011's re-projection of the
balances gives back the same money and stock."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.ids import programme_id
from domain.meta import Context
from domain.programmes import Programme
from domain.receipts import Receipt
from ledger.bootstrap import CompositionRoot
from migrations import VERSIONS
from tests.helpers import communes

FINANCE = Context(actor="finance", role="finance", request_id="goods-stock")


def figures(services: CompositionRoot) -> dict[str, Any]:
    services.runner.catch_up()
    return {"stock": services.queries.stock(), "funds": services.queries.fund_balances(),
            "programmes": services.queries.programme_balances()}


def test_an_older_log_gets_its_stock_by_unit_and_0011_projects_it_again(
        services: CompositionRoot) -> None:
    ledger = services.ledger
    commune = communes(services)[0]
    donor = UUID(ledger.register_donor(FINANCE, "d", name="Công ty May Lạng Sơn",
                                       kind="business")["id"])
    made = ledger.record_receipt(FINANCE, "r", donor_id=donor, fund="campaign",
                                 received_on="2021-03-01", channel="in_kind",
                                 in_kind={"item": "Áo ấm", "unit": "cái", "quantity": 10,
                                          "unit_value_vnd": 150_000})  # type: ignore[typeddict-item]
    ledger.record_receipt(FINANCE, "m", donor_id=donor, fund="campaign", received_on="2021-03-01",
                          channel="bank", amount_vnd=2_000_000)
    # An allocation's goods as an older release wrote them into the programme: no unit.
    receipt = ledger.require(UUID(made["id"]), Receipt, "receipt")
    meta = FINANCE.meta()
    programme = Programme(id=programme_id("2021", commune, "warm-clothing"), season="2021",
                          district=services.areas.district_of(commune), commune=commune,
                          category="warm-clothing", meta=meta)
    allocation_id = uuid4()
    programme.receive(allocation_id=allocation_id, meta=meta, pieces=[
        {"receipt_id": made["id"], "amount_vnd": 6 * 150_000, "quantity": 6, "item": "Áo ấm"}])
    receipt.draw(allocation_id=allocation_id, amount_vnd=6 * 150_000, quantity=6, meta=meta)
    ledger.save(programme, receipt)
    ledger.distribute(FINANCE, "x", season="2021", commune=commune, category="warm-clothing",
                      distributed_on="2021-11-01", beneficiaries_count=2,
                      lines=[{"description": "Áo ấm", "item": "ÁO ẤM", "unit": "chiếc",
                              "quantity": 2}])

    before = figures(services)
    assert [(r["level"], r["item"], r["unit"], r["in_stock_quantity"], r["value_vnd"])
            for r in before["stock"]] == [("fund", "Áo ấm", "cái", 4, 600_000),
                                          ("programme", "Áo ấm", "cái", 4, 600_000)]
    (fund,) = before["funds"]
    assert (fund["available_vnd"], fund["goods_value_vnd"]) == (2_000_000, 600_000)
    (held,) = before["programmes"]
    assert (held["remaining_vnd"], held["goods_value_vnd"]) == (0, 600_000)

    # What 0011 does to a database from before it: the balances are projected again.
    sql = (VERSIONS / "0011.goods-stock.sql").read_text(encoding="utf-8")
    resets = [line.rstrip(";") for line in sql.splitlines() if line.startswith("DELETE FROM")]
    assert "DELETE FROM projection_tracking WHERE name = 'balances'" in resets
    with services.db.write() as cur:
        for statement in resets:
            cur.execute(statement)
    assert services.queries.stock() == []
    assert figures(services) == before


def test_0011_counts_the_public_goods_received_of_an_older_database(
        services: CompositionRoot) -> None:
    ledger = services.ledger
    donor = UUID(ledger.register_donor(FINANCE, "d", name="Hội Chữ thập đỏ",
                                       kind="organisation")["id"])
    for n, (month, quantity) in enumerate((("03", 4), ("03", 5), ("07", 2))):
        made = ledger.record_receipt(FINANCE, f"g{n}", donor_id=donor, fund="campaign",
                                     received_on=f"2021-{month}-01", channel="in_kind",
                                     in_kind={"item": "Chăn", "unit": "cái", "quantity": quantity,
                                              "unit_value_vnd": 300_000})  # type: ignore[typeddict-item]
        if n == 1:
            ledger.reverse(FINANCE, "rev", target_id=UUID(made["id"]), reason="ghi nhầm")
    ledger.record_receipt(FINANCE, "m", donor_id=donor, fund="campaign", received_on="2021-03-05",
                          channel="bank", amount_vnd=1_000_000)
    services.runner.catch_up()
    summary = services.queries.summary()
    assert (summary["received_vnd"], summary["received_goods_vnd"]) == (2_800_000, 1_800_000)

    # A database from before 0011 had no goods column: its backfill gives the same figure.
    sql = (VERSIONS / "0011.goods-stock.sql").read_text(encoding="utf-8")
    backfill = sql[sql.index("UPDATE public_received"):].split(";")[0]
    with services.db.write() as cur:
        cur.execute("UPDATE public_received SET goods_vnd = 0")
    assert services.queries.summary()["received_goods_vnd"] == 0
    with services.db.write() as cur:
        cur.execute(backfill)
    assert services.queries.summary() == summary
