"""From an uploaded statement file to the ledger's import command, and back to the answer.

Shared by `POST /bank-accounts/{code}/statements` and `minhbach import-statement`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from adapters.keys import keyed_digest, statement_key
from adapters.statements import Statement, StatementError, StatementLimits, parse_statements
from domain.bank import BankAccount, LineInput, bank_line_id
from domain.errors import InvalidInput
from domain.ids import as_id
from domain.meta import Context
from ledger.bank_book import StatementInput
from ledger.bootstrap import CompositionRoot

Progress = Callable[[int, int], None]  # (lines recorded, lines new in the file)


def statement_input(account_code: str, account_number: str, statement: Statement, data: bytes,
                    key: bytes, part: int | None = None) -> StatementInput:
    """The parsed statement as the ledger takes it: every line with its running balance, the file's
    digest and the lines' field digests keyed with `key` (adapters.keys.statement_key), so that nothing
    stored is a plain digest of bank customers' data. `part` is the statement's place in a file of
    several: each is a statement of its own (two days of one account in one file are two)."""
    if statement.account_number and not same_account(statement.account_number, account_number):
        raise InvalidInput(f"sao kê của tài khoản {statement.account_number}, không phải {account_number}"
                           f" / the statement is for account {statement.account_number}, not"
                           f" {account_number}")
    balance = statement.opening_balance_vnd
    lines = []
    foreign = statement.currency != "VND"
    for line in statement.lines:
        balance += line.amount_vnd
        # A foreign statement's amounts are in its currency's minor units: the line's đồng value is
        # the bank's (at its rate), or 0 until an officer records a rate.
        lines.append(LineInput(
            key=_keyed_line_key(key, line.key), booked_on=line.booked_on.isoformat(),
            amount_vnd=(line.vnd or 0) if foreign else line.amount_vnd,
            balance_vnd=0 if foreign else balance, bank_txn_id=line.bank_txn_id,
            counterparty=line.counterparty, counterparty_account=line.counterparty_account,
            description=line.description, reversal=line.reversal, currency=statement.currency,
            amount=line.amount_vnd if foreign else None, balance=balance if foreign else None,
            rate=line.rate if foreign else None))
    digest = keyed_digest(key, data if part is None else data + f"\x00statement {part}".encode())
    return StatementInput(
        account_code=account_code, format=statement.format, sha256=digest,
        period_from=statement.period_from.isoformat() if statement.period_from else None,
        period_to=statement.period_to.isoformat() if statement.period_to else None,
        opening_balance_vnd=0 if foreign else statement.opening_balance_vnd,
        closing_balance_vnd=0 if foreign else statement.closing_balance_vnd, lines=tuple(lines),
        currency=statement.currency,
        opening_balance=statement.opening_balance_vnd if foreign else None,
        closing_balance=statement.closing_balance_vnd if foreign else None)


def same_account(given: str, registered: str) -> bool:
    """A statement's account (a number, or an IBAN) is the registered one: the same letters and
    digits, or an IBAN ending in the other's number (an IBAN's BBAN ends in the account number)."""
    a, b = _digits(given), _digits(registered)
    if a == b:
        return True
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return _IBAN.fullmatch(longer) is not None and len(shorter) >= 6 and longer.endswith(shorter)


_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")


def import_file(svc: CompositionRoot, ctx: Context, request_hash: str, account_code: str, data: bytes,
                format: str | None = None, filename: str | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    """Parse, record, wait for the read models, and count how the file's lines stand now.

    Every statement of the file goes to its registered account: `account_code`'s when it names
    none or names that one, else the account registered under its number or IBAN; one whose
    account is not registered is reported (`account_not_registered`), and nothing of it recorded.
    Raises adapters.statements.StatementError (nothing recorded) or a DomainError."""
    account = svc.bank.account(account_code)
    statements = parse_statements(data, format, filename, limits=StatementLimits(dates=svc.ledger.dates))
    key = statement_key(svc.ledger.service_key)
    several = len(statements) > 1
    registered: list[dict[str, Any]] | None = None
    plans: list[tuple[Statement, BankAccount | None, StatementInput | None]] = []
    for part, statement in enumerate(statements):
        target: BankAccount | None = account
        if statement.account_number and not same_account(statement.account_number, account.account_number):
            if registered is None:
                # An account registered a moment ago must be found: the read model catches up first.
                svc.runner.ensure(svc.ledger.recorder.max_notification_id() or 0)
                registered = [dict(r) for r in svc.bank_queries.accounts()]
            found = [r["code"] for r in registered
                     if same_account(statement.account_number, r["account_number"])]
            target = svc.bank.account(found[0]) if len(found) == 1 else None
        if target is not None and statement.currency != target.currency:
            raise StatementError(
                "statement_currency",
                f"Sao kê tài khoản {statement.account_number} bằng {statement.currency}, tài khoản "
                f"{target.code} bằng {target.currency} / the statement of account "
                f"{statement.account_number} is in {statement.currency}; account {target.code} is kept in "
                f"{target.currency}")
        command = None if target is None else statement_input(
            target.code, target.account_number, statement, data, key, part if several else None)
        plans.append((statement, target, command))
    if all(target is None for _, target, _ in plans):
        number = statements[0].account_number
        raise InvalidInput(f"sao kê của tài khoản {number}, không phải {account.account_number}"
                           f" / the statement is for account {number}, not {account.account_number}")
    total = sum(len(command.lines) for _, _, command in plans if command is not None)
    done = 0

    def step(lines: int) -> None:
        nonlocal done
        done += lines
        if progress:
            progress(done, total)

    reports = []
    for part, (statement, target, command) in enumerate(plans):
        report: dict[str, Any] = {
            "account_number": statement.account_number, "currency": statement.currency,
            "from": command.period_from if command else _iso(statement.period_from),
            "to": command.period_to if command else _iso(statement.period_to),
            "lines": len(statement.lines)}
        if target is None or command is None:
            reports.append({**report, "account": None, "status": "account_not_registered",
                            "statement_id": None, "new_lines": 0, "matched": 0, "suggested": 0,
                            "unmatched": 0, "position": None})
            continue
        # One command per statement, each with its own idempotency key derived from the request's.
        own = ctx if not several or ctx.idempotency_key is None else dataclasses.replace(
            ctx, idempotency_key=f"{ctx.idempotency_key}#{part}")
        answer = svc.bank.import_statement(own, f"{request_hash}#{part}" if several else request_hash,
                                           command, step)
        svc.runner.ensure(int(answer["position"]))
        days = [line.booked_on for line in command.lines]
        status = (svc.bank_queries.statement_status(
            target.code, [bank_line_id(target.code, line.key) for line in command.lines],
            min(days), max(days), target.fund) if days else {"matched": 0, "suggested": 0, "unmatched": 0})
        reports.append({**report, "account": target.code, "status": "imported",
                        "statement_id": as_id(answer["statement_id"]), "position": answer["position"],
                        "new_lines": answer["new_lines"], **status})
    imported = [r for r in reports if r["status"] == "imported"]
    first = next((r for r in imported if r["account"] == account.code), imported[0])
    return {"statement_id": first["statement_id"], "position": max(r["position"] for r in imported),
            "lines": sum(r["lines"] for r in imported),
            **{n: sum(r[n] for r in imported) for n in ("new_lines", "matched", "suggested", "unmatched")},
            "statements": reports}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _keyed_line_key(key: bytes, line_key: str) -> str:
    # A bank transaction id is the bank's own reference and stays as it is; only the digest of a
    # line's fields is personal data.
    return "h:" + keyed_digest(key, line_key.encode()) if line_key.startswith("h:") else line_key


def _digits(account_number: str) -> str:
    return "".join(ch for ch in account_number if ch.isalnum()).upper()

