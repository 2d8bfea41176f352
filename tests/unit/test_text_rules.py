"""The one text rule and the date window, on their own and on every command of the ledger: a
refused string or date raises InvalidInput naming the field, and the log does not move."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any
from uuid import uuid4

import pytest

from domain.bank import LineInput
from domain.dates import DEFAULT_WINDOW, DateWindow, check_date
from domain.errors import InvalidInput
from domain.meta import Context
from domain.text import _FORMAT, MAX_NAME, MAX_NOTE, check_text
from ledger.bank_book import BankBook, StatementInput, check_statement
from tests.unit.test_rules import C1, FINANCE, Book, refused

# One string of each class the rule refuses, and what the message says about it.
BAD_TEXT = {
    "nul": ("An\x00h", "NUL"),
    "c0": ("An\x07h", "control"),
    "escape": ("An\x1b[31mh", "control"),
    "del": ("An\x7fh", "control"),
    "c1": ("An\x85h", "control"),
    "lone surrogate": ("An\ud800h", "surrogate"),
    "bidi override": ("An\u202eh", "bidi"),
    "bidi isolate": ("An\u2067h", "bidi"),
    "rtl mark": ("An\u200fh", "bidi"),
    "arabic letter mark": ("An\u061ch", "bidi"),
    "zero-width space": ("An\u200bh", "zero-width"),
    "zero-width joiner": ("An\u200dh", "zero-width"),
    "word joiner": ("An\u2060h", "zero-width"),
    "bom": ("An\ufeffh", "zero-width"),
    "line separator": ("An\u2028h", "not text"),
    "noncharacter": ("An\uffffh", "not text"),
    "too long": ("A" * (MAX_NAME + 1), "at most"),
}


@pytest.mark.parametrize("kind", sorted(BAD_TEXT))
def test_each_class_is_refused_naming_the_field_not_the_value(kind: str) -> None:
    value, said = BAD_TEXT[kind]
    with pytest.raises(InvalidInput) as caught:
        check_text(value, "name", max_length=MAX_NAME)
    assert caught.value.detail.startswith("name ") and said in caught.value.detail
    assert value not in caught.value.detail
    caught.value.detail.encode("utf-8")  # always writable in a problem+json answer


def test_tab_and_line_breaks_only_in_notes() -> None:
    for value in ("a\tb", "a\nb", "a\r\nb"):
        with pytest.raises(InvalidInput, match="allowed only in notes"):
            check_text(value, "name")
    assert check_text(" dòng 1\r\n\tdòng 2\r", "note", multiline=True) == "dòng 1\n\tdòng 2"
    with pytest.raises(InvalidInput):
        check_text("a\x00b", "note", multiline=True)
    with pytest.raises(InvalidInput):
        check_text("a\u202eb", "note", multiline=True)


def test_text_is_nfc_and_trimmed_and_length_counts_after_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    assert check_text(f"  {decomposed}   ", "name") == "Nguyễn Thị Ánh"
    # 200 letters written decomposed are longer than 200 code points, and still fit.
    typed = unicodedata.normalize("NFD", "ễ" * MAX_NAME)
    assert len(check_text(typed, "name", max_length=MAX_NAME)) == MAX_NAME
    with pytest.raises(InvalidInput, match="must not be empty"):
        check_text("   ", "name", required=True)
    with pytest.raises(InvalidInput, match="must be text"):
        check_text(42, "name")


def test_every_format_character_of_this_python_is_refused() -> None:
    """The listed Cf ranges cover what the running Unicode database calls format characters."""
    listed = {c for a, b in _FORMAT for c in range(a, b + 1)}
    missing = [hex(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf" and c not in listed]
    assert not missing


# ---- dates --------------------------------------------------------------------------------------

BAD_DATES: list[Any] = [1614556800, "1614556800", "2021-03-01T00:00:00", "2021-03-01 00:00", "01/03/2021",
                        "2021-3-1", "2021-02-30", "1999-12-31", "0001-01-01", "9999-12-31", "not a date",
                        "", None, date(2021, 3, 1)]


@pytest.mark.parametrize("value", BAD_DATES, ids=repr)
def test_dates_are_iso_text_inside_the_window(value: Any) -> None:
    with pytest.raises(InvalidInput, match="received_on"):
        check_date(value, "received_on")


def test_the_window_runs_from_2000_to_a_year_ahead() -> None:
    window = DateWindow(today=lambda: date(2026, 6, 1))
    assert check_date("2000-01-01", "d", window) == "2000-01-01"
    assert check_date("2027-06-01", "d", window) == "2027-06-01"
    with pytest.raises(InvalidInput, match="between 2000-01-01 and 2027-06-02"):
        check_date("2027-06-03", "d", window)
    narrow = DateWindow(first=date(2021, 1, 1), ahead_days=0, today=lambda: date(2021, 12, 31))
    with pytest.raises(InvalidInput):
        check_date("2020-12-31", "d", narrow)
    assert DEFAULT_WINDOW.first == date(2000, 1, 1)


# ---- every command refuses them, and records nothing ----------------------------------------------

@pytest.mark.parametrize("kind", sorted(BAD_TEXT))
def test_donor_names_are_refused_by_a_direct_ledger_call(kind: str) -> None:
    book = Book()
    refused(book, InvalidInput, book.ledger.register_donor, FINANCE, "h", name=BAD_TEXT[kind][0],
            kind="individual")


def test_every_text_field_of_every_command_is_checked() -> None:
    book = Book()
    donor = book.default_donor
    receipt = dict(donor_id=donor, fund="campaign", received_on="2021-03-01", channel="bank",
                   amount_vnd=1_000)
    bad = "x\x00y"
    refused(book, InvalidInput, book.ledger.register_donor, FINANCE, "h", name="An", kind="individual",
            public_name=bad)
    refused(book, InvalidInput, book.ledger.register_donor, FINANCE, "h", name="An", kind="individual",
            contact=bad)
    refused(book, InvalidInput, book.ledger.make_pledge, FINANCE, "h", donor_id=donor, amount_vnd=1,
            note=bad)
    refused(book, InvalidInput, book.ledger.make_pledge, FINANCE, "h", donor_id=donor, amount_vnd=1,
            mobilised_by=bad)
    for field in ("note", "mobilised_by", "bank_txn_id"):
        refused(book, InvalidInput, book.ledger.record_receipt, FINANCE, "h", **{**receipt, field: bad})
    goods = {"item": bad, "unit": "cái", "quantity": 1, "unit_value_vnd": 1}
    refused(book, InvalidInput, book.ledger.record_receipt, FINANCE, "h",
            **{**receipt, "amount_vnd": None, "channel": "in_kind", "in_kind": goods})
    refused(book, InvalidInput, book.ledger.record_receipt, FINANCE, "h",
            **{**receipt, "note": "n" * (MAX_NOTE + 1)})
    book.receive(10_000)
    refused(book, InvalidInput, book.ledger.allocate, FINANCE, "h", fund="campaign", season="2021",
            commune=C1, category="warm-clothing", decision_ref=bad, amount_vnd=1)
    refused(book, InvalidInput, book.ledger.allocate, FINANCE, "h", fund="campaign", season="2021\x00",
            commune=C1, category="warm-clothing", decision_ref="QĐ 1", amount_vnd=1)
    book.allocate(5_000)
    line = {"description": bad, "quantity": 1, "value_vnd": 100}
    refused(book, InvalidInput, book.ledger.distribute, FINANCE, "h", season="2021", commune=C1,
            category="warm-clothing", distributed_on="2021-04-01", lines=[line])
    refused(book, InvalidInput, book.ledger.distribute, FINANCE, "h", season="2021", commune=C1,
            category="warm-clothing", distributed_on="2021-04-01",
            lines=[{"description": "", "value_vnd": 100, "child_id": "not a uuid"}])
    refused(book, InvalidInput, book.ledger.reverse, FINANCE, "h", target_id=uuid4(), reason=bad)
    refused(book, InvalidInput, book.ledger.register_child, FINANCE, "h", commune=C1,
            personal={"full_name": "Lò Văn\u202e A", "birth_year": 2015})
    refused(book, InvalidInput, book.ledger.register_child, FINANCE, "h", commune=C1,
            personal={"full_name": "Lò Văn A", "birth_year": 2015, "circumstances": bad})
    refused(book, InvalidInput, book.ledger.record_need, FINANCE, "h", season="2021", commune=C1,
            category="warm-clothing", children_count=1, estimated_vnd=0, note=bad)
    # What the caller's context puts in every event's metadata is checked too.
    refused(book, InvalidInput, book.ledger.register_donor,
            Context(actor="finance-1", role="finance", request_id="r\x00"), "h", name="An",
            kind="individual")


@pytest.mark.parametrize("value", BAD_DATES, ids=repr)
def test_business_dates_are_refused_by_a_direct_ledger_call(value: Any) -> None:
    book = Book()
    refused(book, InvalidInput, book.receive, 1_000, received_on=value)
    if value is not None:  # a pledge may have no due date
        refused(book, InvalidInput, book.ledger.make_pledge, FINANCE, "h", donor_id=book.default_donor,
                amount_vnd=1, due_on=value)
    book.receive(10_000)
    book.allocate(5_000)
    refused(book, InvalidInput, book.ledger.distribute, FINANCE, "h", season="2021", commune=C1,
            category="warm-clothing", distributed_on=value, lines=[{"description": "", "value_vnd": 1}])


def test_not_a_date_no_longer_makes_a_reference() -> None:
    """`received_on="not a date"` used to record a receipt numbered `PT-not -000003`."""
    book = Book()
    refused(book, InvalidInput, book.receive, 1_000, received_on="not a date")
    assert book.receive(1_000, received_on="2021-03-01")["reference"].startswith("PT-2021-")


def test_the_ledger_takes_its_window_as_a_constructor_argument() -> None:
    book = Book()
    narrow = DateWindow(first=date(2021, 1, 1), ahead_days=0, today=lambda: date(2021, 12, 31))
    book.ledger.dates = narrow  # as `Ledger(..., dates=narrow)` would set it
    refused(book, InvalidInput, book.receive, 1_000, received_on="2020-12-31")
    refused(book, InvalidInput, book.receive, 1_000, received_on="2022-01-01")
    book.receive(1_000, received_on="2021-12-31")


def statement_with(**changes: Any) -> StatementInput:
    line = dict(key="txn:1", booked_on="2021-03-01", amount_vnd=100, balance_vnd=100, bank_txn_id="1",
                counterparty="NGUYEN VAN AN", counterparty_account=None, description="ung ho")
    line.update(changes)
    return StatementInput(account_code="VCB", format="csv", sha256="0" * 64, period_from=None,
                          period_to=None, opening_balance_vnd=0, closing_balance_vnd=100,
                          lines=(LineInput(**line),))  # type: ignore[arg-type]


@pytest.mark.parametrize("changes", [
    {"counterparty": "AN\x00"}, {"description": "a\u202eb"}, {"bank_txn_id": "1\x1f"},
    {"counterparty_account": "\ud800"}, {"key": ""}, {"booked_on": "1999-12-31"},
    {"booked_on": "9999-12-31"}, {"amount_vnd": 0}, {"description": "d" * (MAX_NOTE + 1)},
], ids=repr)
def test_a_statement_import_checks_every_field_of_every_line(changes: dict[str, Any]) -> None:
    book = Book()
    bank = BankBook(book.ledger, index=None)  # type: ignore[arg-type]  # refused before any look-up
    with pytest.raises(InvalidInput, match="line 1"):
        check_statement(statement_with(**changes), DEFAULT_WINDOW)
    refused(book, InvalidInput, bank.import_statement, FINANCE, "h", statement_with(**changes))
