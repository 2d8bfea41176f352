"""The demo's bank side: one account per fund, and a year's statement of the campaign fund's
account, made from the ledger's own bank receipts with the noise a real statement has — bank fees,
transfers from people the ledger doesn't know yet, and a few receipts the bank never showed —
so that `make run` opens on a reconciliation with something to do. Deterministic, and loaded once
(the accounts exist, the statement's file is the same: nothing is added twice)."""

from __future__ import annotations

import contextlib
import random
from datetime import date, timedelta

from adapters.statements import Statement, StatementLine, write_csv
from domain.errors import AlreadyRecorded
from domain.meta import Context
from domain.text import fold
from ledger.bootstrap import CompositionRoot
from ledger.statement_import import import_file

ACCOUNTS = (  # code, bank, BIN, account number, fund
    ("VCB-VANDONG", "Vietcombank", "970436", "0351000123456", "campaign"),
    ("BIDV-BTTE", "BIDV", "970418", "35110000987654", "child-protection-fund"),
    ("AGR-VINGHEO", "Agribank", "970405", "8300201004321", "fund-for-the-poor"),
    ("KBNN-NSNN", "VietinBank", "970415", "103000456789", "state-budget"),
)
STATEMENT_ACCOUNT = "VCB-VANDONG"
OPENING_VND = 125_000_000
UNKNOWN_DONORS = ("NGUYEN THI THU HANG", "CTY CP XAY DUNG DONG BAC", "HOANG VAN LUONG")
CTX = Context(actor="demo", role="finance", request_id="demo-bank", note="[Dữ liệu mẫu]")


def load_bank_demo(svc: CompositionRoot) -> dict[str, int]:
    for code, bank, bin_, number, fund in ACCOUNTS:
        with contextlib.suppress(AlreadyRecorded):  # loaded before: the accounts are there
            svc.bank.register_account(CTX, "", code=code, bank=bank, bank_bin=bin_, account_number=number,
                                      fund=fund)
    svc.runner.ensure(svc.ledger.recorder.max_notification_id() or 0)
    fund = ACCOUNTS[0][4]
    entries = svc.db.query(
        "SELECT e.booked_on, e.amount_vnd, e.bank_txn_id, e.reference, e.donor_id FROM bank_entries e"
        " WHERE e.kind = 'receipt' AND e.fund = ?"
        " AND e.channel = 'bank' AND e.reversed = 0 ORDER BY e.booked_on, e.reference", (fund,))
    # Legal names are sealed: the demo's bank shows them as a bank would, decrypted in memory.
    names = svc.ledger.donor_names(e["donor_id"] for e in entries)
    entries = [dict(e, name=names.get(e["donor_id"], "")) for e in entries if e["donor_id"] in names]
    if not entries:
        return {"statement_lines": 0}
    rng = random.Random(2021)
    lines: list[tuple[date, int, str | None, str, str]] = []
    for i, e in enumerate(entries):
        if i % 97 == 13:
            continue  # the bank never showed it: an unmatched ledger entry
        on = date.fromisoformat(e["booked_on"])
        who = fold(e["name"]).upper()
        if e["bank_txn_id"]:
            lines.append((on, int(e["amount_vnd"]), e["bank_txn_id"], who, "UNG HO TRE EM LANG SON"))
        else:
            lines.append((on + timedelta(days=1), int(e["amount_vnd"]), f"VCB{i:07d}", who,
                          f"ND: {who} ung ho {e['reference'].replace('-', '')}"))
    first, last = min(x[0] for x in lines), max(x[0] for x in lines)
    month = first.replace(day=1)
    while month <= last:
        lines.append((month + timedelta(days=27), -11_000, None, "", "Phí dịch vụ SMS Banking"))
        month = (month + timedelta(days=32)).replace(day=1)
    for i, name in enumerate(UNKNOWN_DONORS):
        lines.append((first + timedelta(days=40 * (i + 1)), rng.randrange(5, 50) * 100_000, f"VCBX{i:05d}",
                      name, "ung ho cac chau vung cao"))
    lines.sort(key=lambda x: (x[0], x[2] or ""))
    balance, rows = OPENING_VND, []
    for on, amount, txn, who, text in lines:
        balance += amount
        rows.append(StatementLine(on, amount, txn, balance, who, None, text))
    statement = Statement("csv", ACCOUNTS[0][3], first, last, OPENING_VND, balance, tuple(rows))
    answer = import_file(svc, CTX, "", STATEMENT_ACCOUNT, write_csv(statement), "csv", "demo.csv")
    return {"statement_lines": int(answer["lines"]), "new_statement_lines": int(answer["new_lines"]),
            "matched_lines": int(answer["matched"])}
