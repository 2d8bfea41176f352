"""Read models don't depend on where one projection batch ends and the next begins.

Found by the crash test (test_crash_safety): after restarts the live projections apply the log in
small batches, and a receipt whose allocation was taken back (Receipt.Returned) and which was
then itself reversed (Receipt.Reversed) in the same batch kept its whole amount as remaining
money, while a rebuild, reading both in a batch that also held the draw, gave 0."""

from __future__ import annotations

from uuid import UUID

from domain.meta import Context
from ledger.bootstrap import CompositionRoot
from projections.donations import SEPARATOR, _add
from projections.runner import Runner
from tests.helpers import communes


def test_a_receipt_returned_then_reversed_in_one_batch_has_nothing_left(services: CompositionRoot) -> None:
    ctx = Context(actor="test", role="finance")
    ledger = services.ledger
    donor = ledger.register_donor(ctx, "", name="Nguyễn Văn An", kind="individual")["id"]
    receipt = ledger.record_receipt(ctx, "", donor_id=UUID(donor), fund="campaign",
                                    received_on="2021-03-01", channel="cash",
                                    amount_vnd=1_000_000)["id"]
    allocation = ledger.allocate(ctx, "", fund="campaign", season="2021",
                                 commune=communes(services)[0], category="other",
                                 amount_vnd=1_000_000, decision_ref="QĐ 1")["id"]
    services.runner.catch_up()  # the draw in one batch ...
    ledger.reverse(ctx, "", target_id=UUID(allocation), reason="nhầm xã")  # Receipt.Returned
    ledger.reverse(ctx, "", target_id=UUID(receipt), reason="trả lại")  # Receipt.Reversed
    services.runner.catch_up()  # ... the return and the reversal together in the next

    sql = "SELECT remaining_vnd, reversed FROM receipt_balances WHERE receipt_id = ?"
    live = services.db.query(sql, (receipt,))
    services.runner.rebuild()
    assert live == services.db.query(sql, (receipt,)) == [{"remaining_vnd": 0, "reversed": 1}]


def test_rows_made_and_changed_in_one_batch_equal_those_changed_batch_by_batch(
        services: CompositionRoot) -> None:
    """A batch writes the rows it makes with its own changes to them already in (receipts' and
    programmes' balances, pledges): the same rows as when each change comes in a batch of its own."""
    ctx = Context(actor="test", role="finance")
    ledger = services.ledger
    donor = UUID(ledger.register_donor(ctx, "", name="Trần Thị Bình", kind="individual")["id"])
    pledge = ledger.make_pledge(ctx, "", donor_id=donor, amount_vnd=3_000_000)["id"]
    paid = ledger.record_receipt(ctx, "", donor_id=donor, fund="campaign", pledge_id=UUID(pledge),
                                 received_on="2021-03-01", channel="cash", amount_vnd=1_000_000)["id"]
    ledger.reverse(ctx, "", target_id=UUID(paid), reason="nhầm")  # the pledge's payment reversed
    ledger.reverse(ctx, "", target_id=UUID(pledge), reason="huỷ")  # the pledge cancelled
    drawn = ledger.record_receipt(ctx, "", donor_id=donor, fund="campaign",
                                  received_on="2021-03-02", channel="cash", amount_vnd=2_000_000)["id"]
    ledger.allocate(ctx, "", fund="campaign", season="2021", commune=communes(services)[0],
                    category="other", amount_vnd=1_500_000, decision_ref="QĐ 2")
    queries = {
        "receipts": "SELECT receipt_id, remaining_vnd, reversed FROM receipt_balances",
        "programmes": "SELECT * FROM programme_balances WHERE allocated_vnd <> 0",
        "pledges": "SELECT pledge_id, received_vnd, cancelled FROM pledges",
    }

    def rows() -> dict[str, list[dict[str, object]]]:
        return {name: sorted(services.db.query(sql), key=str) for name, sql in queries.items()}

    services.runner.rebuild()  # all in one batch
    together = rows()
    Runner(services.db, services.ledger, services.runner.projections, batch_size=1).rebuild()
    assert rows() == together
    assert sorted((r["receipt_id"], r["remaining_vnd"], r["reversed"]) for r in together["receipts"]) \
        == sorted([(paid, 0, 1), (drawn, 500_000, 0)])
    assert together["pledges"] == [{"pledge_id": pledge, "received_vnd": 0, "cancelled": 1}]
    assert [p["allocated_vnd"] for p in together["programmes"]] == [1_500_000]


def test_totals_keyed_by_text_holding_the_separator_or_nothing_add_up(services: CompositionRoot) -> None:
    """`_add` sends each key column as one joined string, except a column with the separator in
    a key or an empty key: those go as arrays, and every way gives the same rows."""
    keys = [("a", 1), (f"b{SEPARATOR}c", 2), ("", 3)]
    for chosen in ([keys[0]], keys[:2], [keys[2]], keys):
        with services.db.write() as cur:
            cur.execute("DELETE FROM public_names")
            _add(cur, "public_names", ("folded",), ("receipts",), chosen)
            _add(cur, "public_names", ("folded",), ("receipts",), chosen)
        assert sorted((r["folded"], r["receipts"]) for r in services.db.query(
            "SELECT folded, receipts FROM public_names")) == sorted((k, 2 * n) for k, n in chosen)
