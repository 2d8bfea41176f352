"""The read models keep ids as text on SQLite and PostgreSQL (issue 11): the domain holds them
as UUIDs, the nested ones too (draws, pieces, lines), and projections/db binds them as text."""

from __future__ import annotations

from uuid import UUID

from domain.children import Child
from domain.meta import Context
from ledger.bootstrap import CompositionRoot
from tests.helpers import communes

FINANCE = Context(actor="finance", role="finance", request_id="id-rows")


def test_nested_uuid_ids_are_written_as_their_text(services: CompositionRoot) -> None:
    ledger = services.ledger
    commune = communes(services)[0]
    donor = UUID(ledger.register_donor(FINANCE, "d", name="Công ty Ánh Dương", kind="business")["id"])
    receipt = ledger.record_receipt(FINANCE, "r", donor_id=donor, fund="campaign",
                                    received_on="2021-03-01", channel="cash", amount_vnd=900_000)
    child = ledger.register_child(FINANCE, "c", commune=commune,
                                  personal={"full_name": "Lò Thị Mai", "birth_year": 2015})
    allocation = ledger.allocate(FINANCE, "a", fund="campaign", season="2021", commune=commune,
                                 category="warm-clothing", decision_ref="QĐ-7", amount_vnd=600_000)
    given = ledger.distribute(FINANCE, "x", season="2021", commune=commune, category="warm-clothing",
                              distributed_on="2021-11-01", lines=[
                                  {"child_id": child["id"], "description": "Áo", "value_vnd": 250_000}])
    assert isinstance(ledger.require(UUID(child["id"]), Child, "child").supported["2021|warm-clothing"][0],
                      UUID)
    services.runner.catch_up()

    db = services.db
    [draw] = db.query("SELECT allocation_id, receipt_id FROM allocation_draws")
    assert draw == {"allocation_id": allocation["id"], "receipt_id": receipt["id"]}
    [line] = db.query("SELECT distribution_id, child_id FROM distribution_lines")
    assert line == {"distribution_id": given["id"], "child_id": child["id"]}
    [piece] = db.query("SELECT allocation_id, receipt_id FROM distribution_draws")
    assert piece == {"allocation_id": allocation["id"], "receipt_id": receipt["id"]}
    assert all(isinstance(v, str) for row in (draw, line, piece) for v in row.values())
    # What the ledger reads back from the rows is the same id.
    assert services.queries.child_history(child["id"])
