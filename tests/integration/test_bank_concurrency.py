"""Two ledger processes (two composition roots on one database, as two servers would be) import
overlapping statements of one account at the same moment, on SQLite and PostgreSQL: every bank
line is recorded once, and every receipt is matched to one line at most."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.statements import Statement, StatementLine, write_csv
from domain.meta import Context
from ledger.bootstrap import CompositionRoot
from ledger.statement_import import import_file
from tests.conftest import make_services

CTX = Context(actor="race", role="finance")
DAYS = 40
PER_DAY = 60  # lines per day: more than one chunk of the import per statement


def _statement(lines: list[StatementLine], first: int, last: int, opening: int) -> bytes:
    """The lines of days `first` to `last` (ordinals), with their running balances."""
    balance, out = opening, []
    for line in lines:
        if first <= line.booked_on.toordinal() <= last:
            balance += line.amount_vnd
            out.append(StatementLine(line.booked_on, line.amount_vnd, line.bank_txn_id, balance,
                                     line.counterparty, None, line.description))
    return write_csv(Statement("csv", "0011004123456", None, None, opening, balance, tuple(out)))


def test_two_processes_import_overlapping_statements_at_once(database_url: str, tmp_path: Path) -> None:
    # Two processes of one installation: one database and one service key (which wraps
    # every donor's key: a process with another could not read a donor's sealed name).
    one = make_services(database_url, tmp_path / "data")
    two = make_services(database_url, tmp_path / "data")
    try:
        one.bank.register_account(CTX, "", code="VCB", bank="Vietcombank", bank_bin="970436",
                                  account_number="0011004123456", fund="campaign")
        donor = UUID(one.ledger.register_donor(CTX, "", name="Lê Thị Hoa", kind="individual")["id"])
        start = date(2021, 1, 1)
        lines = []
        for d in range(DAYS):
            on = start + timedelta(days=d)
            for i in range(PER_DAY):
                txn = f"FT{d:03d}{i:03d}" if i % 3 else None  # a third of the lines have no bank id
                if i % 10 == 1:  # some are receipts the ledger already has
                    one.ledger.record_receipt(CTX, "", donor_id=donor, fund="campaign",
                                              received_on=on.isoformat(), channel="bank",
                                              amount_vnd=10_000 + i, bank_txn_id=txn)
                lines.append(StatementLine(on, 10_000 + i if i % 5 else -(1_000 + i), txn, None,
                                           "LE THI HOA", None, f"ngay {d} lan {i % 4}"))
        first, middle, last = start.toordinal(), start.toordinal() + DAYS // 2, start.toordinal() + DAYS - 1
        early = _statement(lines, first, middle + 5, 0)
        before_late = sum(x.amount_vnd for x in lines if x.booked_on.toordinal() < middle - 5)
        late = _statement(lines, middle - 5, last, before_late)
        answers: dict[str, Any] = {}
        barrier = threading.Barrier(4)

        def run(name: str, services: CompositionRoot, data: bytes) -> None:
            barrier.wait()
            answers[name] = import_file(services, CTX, "", "VCB", data)

        threads = [threading.Thread(target=run, args=args) for args in (
            ("one-early", one, early), ("two-late", two, late), ("two-early", two, early),
            ("one-late", one, late))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert len(answers) == 4, answers

        one.runner.ensure(one.ledger.recorder.max_notification_id() or 0)
        recorded = one.bank_queries.lines("VCB", "2021-01-01", "2021-12-31")
        assert len(recorded) == len(lines)
        assert len({r["line_id"] for r in recorded}) == len(lines)
        # Each file was imported twice at once: between the two imports, each line is new once.
        assert answers["one-early"]["new_lines"] + answers["two-early"]["new_lines"] \
            + answers["one-late"]["new_lines"] + answers["two-late"]["new_lines"] == len(lines)
        assert answers["one-early"]["statement_id"] == answers["two-early"]["statement_id"]
        targets = Counter(r["target_id"] for r in recorded if r["target_id"])
        assert targets and set(targets.values()) == {1}
        receipts = [r for r in recorded if r["bank_txn_id"] and r["matched_how"] == "bank_txn_id"]
        assert len(receipts) == sum(1 for x in lines if x.bank_txn_id and int(x.bank_txn_id[-3:]) % 10 == 1)
    finally:
        one.close()
        two.close()
