"""Group commit on a real store (SQLite file and PostgreSQL): racing receipts share
transactions, and a bank transaction id claimed by two of them is still recorded once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Recording

from domain.errors import AlreadyRecorded
from domain.meta import Context
from domain.receipts import Receipt
from ledger.bootstrap import CompositionRoot

THREADS = 12
PER_THREAD = 15
SHARED_EVERY = 5  # every fifth receipt names a bank transaction id that another thread names too


def test_racing_receipts_share_transactions_and_claim_each_bank_id_once(services: CompositionRoot) -> None:
    ledger = services.ledger
    ctx = Context(actor="test", role="finance", request_id="r")
    donor = UUID(ledger.register_donor(ctx, "h", name="Nguyễn Văn An", kind="individual")["id"])
    batches: list[int] = []
    write = ledger._group_commit._record

    def counting(processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        recordings = write(processing)
        batches.append(len(processing.events))
        return recordings

    ledger._group_commit._record = counting
    start = threading.Barrier(THREADS)
    outcomes: list[tuple[str | None, Any]] = []

    def work(t: int) -> None:
        start.wait()
        for i in range(PER_THREAD):
            # Threads t and t+1 share one id per round, so each shared id is raced by two.
            txn = f"FT-shared-{(t // 2)}-{i}" if i % SHARED_EVERY == 0 else f"FT-{t}-{i}"
            try:
                answer = ledger.record_receipt(ctx, f"{t}-{i}", donor_id=donor, fund="campaign",
                                               received_on="2021-03-01", channel="bank",
                                               amount_vnd=100_000, bank_txn_id=txn)
                outcomes.append((txn, answer["id"]))
            except AlreadyRecorded:
                outcomes.append((txn, None))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    recorded = Counter(txn for txn, receipt_id in outcomes if receipt_id is not None)
    refused = Counter(txn for txn, receipt_id in outcomes if receipt_id is None)
    assert len(outcomes) == THREADS * PER_THREAD
    assert set(recorded.values()) == {1}  # every id recorded exactly once ...
    assert set(refused) == {t for t in recorded if t.startswith("FT-shared-")}  # ... its twin refused
    assert all(refused[t] == 1 for t in refused)
    # What was answered is exactly what the log holds.
    for txn, receipt_id in outcomes:
        if receipt_id is not None:
            assert ledger.require(UUID(receipt_id), Receipt, "receipt").bank_txn_id == txn
    # Transactions were shared: fewer writes than commands.
    assert len(batches) < len(recorded), (len(batches), len(recorded))
    assert max(batches) > 2  # a receipt alone writes two events (the receipt and its claim)
