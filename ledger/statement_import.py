"""From an uploaded statement file to the ledger's import command, and back to the answer.

Shared by `POST /bank-accounts/{code}/statements` and `minhbach import-statement`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from adapters.keys import keyed_digest, statement_key
from adapters.statements import Statement, StatementLimits, parse_statement
from domain.bank import LineInput, bank_line_id
from domain.errors import InvalidInput
from domain.meta import Context
from ledger.bank_book import StatementInput
from ledger.bootstrap import CompositionRoot

Progress = Callable[[int, int], None]  # (lines recorded, lines new in the file)


def statement_input(account_code: str, account_number: str, statement: Statement, data: bytes,
                    key: bytes) -> StatementInput:
    """The parsed statement as the ledger takes it: every line with its running balance, the file's
    digest and the lines' field digests keyed with `key` (adapters.keys.statement_key), so that nothing
    stored is a plain digest of bank customers' data."""
    if statement.account_number and _digits(statement.account_number) != _digits(account_number):
        raise InvalidInput(f"sao kê của tài khoản {statement.account_number}, không phải {account_number}"
                           f" / the statement is for account {statement.account_number}, not"
                           f" {account_number}")
    balance = statement.opening_balance_vnd
    lines = []
    for line in statement.lines:
        balance += line.amount_vnd
        lines.append(LineInput(
            key=_keyed_line_key(key, line.key), booked_on=line.booked_on.isoformat(),
            amount_vnd=line.amount_vnd,
            balance_vnd=balance, bank_txn_id=line.bank_txn_id, counterparty=line.counterparty,
            counterparty_account=line.counterparty_account, description=line.description,
            reversal=line.reversal))
    return StatementInput(
        account_code=account_code, format=statement.format, sha256=keyed_digest(key, data),
        period_from=statement.period_from.isoformat() if statement.period_from else None,
        period_to=statement.period_to.isoformat() if statement.period_to else None,
        opening_balance_vnd=statement.opening_balance_vnd,
        closing_balance_vnd=statement.closing_balance_vnd, lines=tuple(lines))


def import_file(svc: CompositionRoot, ctx: Context, request_hash: str, account_code: str, data: bytes,
                format: str | None = None, filename: str | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    """Parse, record, wait for the read models, and count how the file's lines stand now.
    Raises adapters.statements.StatementError (nothing recorded) or a DomainError."""
    account = svc.bank.account(account_code)
    statement = parse_statement(data, format, filename,
                                limits=StatementLimits(dates=svc.ledger.dates))
    command = statement_input(account.code, account.account_number, statement, data,
                              statement_key(svc.ledger.service_key))
    done = 0

    def step(lines: int) -> None:
        nonlocal done
        done += lines
        if progress:
            progress(done, len(command.lines))

    answer = svc.bank.import_statement(ctx, request_hash, command, step)
    svc.runner.ensure(int(answer["position"]))
    days = [line.booked_on for line in command.lines]
    status = (svc.bank_queries.statement_status(
        account.code, [bank_line_id(account.code, line.key) for line in command.lines],
        min(days), max(days), account.fund) if days else {"matched": 0, "suggested": 0, "unmatched": 0})
    return {"statement_id": UUID(answer["statement_id"]), "position": answer["position"],
            "lines": answer["lines"], "new_lines": answer["new_lines"], **status}


def _keyed_line_key(key: bytes, line_key: str) -> str:
    # A bank transaction id is the bank's own reference and stays as it is; only the digest of a
    # line's fields is personal data.
    return "h:" + keyed_digest(key, line_key.encode()) if line_key.startswith("h:") else line_key


def _digits(account_number: str) -> str:
    return "".join(ch for ch in account_number if ch.isalnum()).upper()

