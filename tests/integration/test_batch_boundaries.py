"""Read models don't depend on where one projection batch ends and the next begins.

Found by the crash test (test_crash_safety): after restarts the live projections apply the log in
small batches, and a receipt whose allocation was taken back (Receipt.Returned) and which was
then itself reversed (Receipt.Reversed) in the same batch kept its whole amount as remaining
money, while a rebuild, reading both in a batch that also held the draw, gave 0."""

from __future__ import annotations

from uuid import UUID

from domain.meta import Context
from ledger.bootstrap import CompositionRoot
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
