"""Property: for a random ledger and a bank statement made from it with random noise (fees,
unknown donors, receipts the bank never saw), the reconciliation reports exactly the injected
differences — and, once the noise is dealt with, a difference of zero."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.statements import Statement, StatementLine, write_csv
from domain.meta import Context
from domain.money import FUNDS
from ledger.bootstrap import CompositionRoot
from ledger.statement_import import import_file
from tests.conftest import make_services

CTX = Context(actor="property", role="finance")
_examples = itertools.count()

receipts = st.lists(st.tuples(
    st.integers(1, 500).map(lambda n: n * 10_000),  # amount
    st.integers(0, 300),  # day of the year
    st.sampled_from(["txn", "reference", "mangled reference", "missing"]),  # how the bank shows it
), min_size=1, max_size=8)
fees = st.lists(st.sampled_from([5_500, 11_000, 22_000]), max_size=3)
unknown = st.lists(st.integers(1, 300).map(lambda n: n * 1_000), max_size=3)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CompositionRoot]:
    data = tmp_path_factory.mktemp("reconciliation")
    services = make_services(f"sqlite:///{data / 'ledger.db'}", data / "data")
    try:
        yield services
    finally:
        services.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(receipts=receipts, fees=fees, unknown=unknown, opening=st.integers(0, 10**9))
def test_reconciliation_reports_exactly_the_injected_differences(
        ledger: CompositionRoot, receipts: list[tuple[int, int, str]], fees: list[int], unknown: list[int],
        opening: int) -> None:
    n = next(_examples)
    # Unmatched ledger entries are the fund's in the period: a year and a fund of its own (104
    # slots, far more than the examples and their shrinks), inside the window of business dates.
    year, fund = 2000 + n % 26, sorted(FUNDS)[n // 26 % len(FUNDS)]
    code = f"ACC-{n}"
    first = date(year, 1, 1)
    ledger.bank.register_account(CTX, "", code=code, bank="BIDV", bank_bin="970418",
                                 account_number=f"{n:04d}00123", fund=fund)
    donor = UUID(ledger.ledger.register_donor(CTX, "", name="Nguyễn Văn An", kind="individual")["id"])
    lines: list[tuple[date, int, str | None, str, str]] = []
    missing = []
    for i, (amount, day, shown) in enumerate(receipts):
        on = first + timedelta(days=day)
        txn = f"FT{n}{i:04d}" if shown == "txn" else None
        made = ledger.ledger.record_receipt(CTX, "", donor_id=donor, fund=fund,
                                            received_on=on.isoformat(), channel="bank",
                                            amount_vnd=amount, bank_txn_id=txn)
        reference = str(made["reference"])
        if shown == "missing":
            missing.append(amount)
        elif shown == "txn":
            lines.append((on, amount, txn, "NGUYEN VAN AN", "ung ho"))
        elif shown == "reference":
            lines.append((on + timedelta(days=1), amount, None, "NGUYEN VAN AN", f"UNG HO {reference}"))
        else:
            lines.append((on, amount, None, "", f"ck {reference.lower().replace('-', ' ')} tre em"))
    for i, fee in enumerate(fees):
        lines.append((first + timedelta(days=10 * i), -fee, None, "", "Phí dịch vụ"))
    for i, amount in enumerate(unknown):
        lines.append((first + timedelta(days=20 + i), amount, f"UK{n}-{i}", "HOANG THI LAN", "ung ho"))
    lines.sort(key=lambda x: x[0])
    balance, rows = opening, []
    for on, amount, txn, who, text in lines:
        balance += amount
        rows.append(StatementLine(on, amount, txn, balance, who, None, text))
    last = first + timedelta(days=330)
    data = write_csv(Statement("csv", f"{n:04d}00123", first, last, opening, balance, tuple(rows)))
    imported = import_file(ledger, CTX, "", code, data)
    account = ledger.bank_queries.account(code)
    assert account is not None
    report = ledger.bank_queries.reconciliation(account, first.isoformat(), last.isoformat())

    injected_lines = Counter([-f for f in fees] + unknown)
    assert Counter(int(r["amount_vnd"]) for r in report["unmatched_bank_lines"]) == injected_lines
    assert Counter(int(e["amount_vnd"]) for e in report["unmatched_ledger_entries"]) == Counter(missing)
    assert report["difference_vnd"] == sum(injected_lines.elements()) - sum(missing)
    assert report["bank_balance_vnd"] == balance and report["opening_balance_vnd"] == opening
    assert imported["matched"] == report["matched"] == len(receipts) - len(missing)
    assert report["reconciled"] == (not fees and not unknown and not missing)

    # Deal with the noise: the unknown credits become receipts, the missing receipts are
    # reversed. Only the fees are left, and nothing else.
    for line in report["unmatched_bank_lines"]:
        if int(line["amount_vnd"]) > 0:
            ledger.bank.receipt_from_line(CTX, "", bank_line_id=UUID(line["line_id"]))
    for entry in report["unmatched_ledger_entries"]:
        ledger.ledger.reverse(CTX, "", target_id=UUID(entry["entry_id"]), reason="không có trong sao kê")
    ledger.runner.ensure(ledger.ledger.recorder.max_notification_id() or 0)
    after = ledger.bank_queries.reconciliation(account, first.isoformat(), last.isoformat())
    assert after["difference_vnd"] == -sum(fees)
    assert after["unmatched_ledger_entries"] == []
    assert after["reconciled"] == (not fees)
