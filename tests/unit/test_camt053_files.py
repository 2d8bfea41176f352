"""camt.053 files as banks send them: several statements, batched entries, foreign currencies,
and an amount without its currency."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.statements import StatementError, parse_statement, parse_statements
from domain.bank import foreign_to_vnd, minor_digits
from ledger.statement_import import same_account

FIXTURES = Path(__file__).parent.parent / "fixtures" / "statements"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_one_statement_per_stmt_each_with_its_account() -> None:
    statements = parse_statements(read("camt053-several-accounts.xml"))
    assert [s.account_number for s in statements] == ["0011004123456", "0011004999888", "0011004777666"]
    assert [len(s.lines) for s in statements] == [2, 1, 1]
    assert [s.closing_balance_vnd for s in statements] == [10_700_000, 300_000, 4_000_000]
    assert statements[2].lines[0].amount_vnd == -1_000_000
    assert statements[2].lines[0].counterparty == "Cong ty Hoa Binh"


def test_several_days_of_one_account() -> None:
    first, second = parse_statements(read("camt053-several-days.xml"))
    assert first.account_number == second.account_number
    assert (first.closing_balance_vnd, second.opening_balance_vnd) == (10_500_000, 10_500_000)
    assert [str(s.period_from) for s in (first, second)] == ["2021-03-01", "2021-03-02"]


def test_asking_for_one_statement_of_a_file_of_several_is_refused() -> None:
    with pytest.raises(StatementError) as e:
        parse_statement(read("camt053-several-days.xml"))
    assert e.value.code == "statement_multiple"


def test_a_batch_gives_one_line_per_transaction() -> None:
    (statement,) = parse_statements(read("camt053-batch.xml"))
    assert [(line.amount_vnd, line.bank_txn_id, line.counterparty) for line in statement.lines] == [
        (100_000, "B21060E001", "Hoang Van Em"), (250_000, "B21060E002", "Vu Thi Giang"),
        (150_000, "B21060E003", "Do Van Hung")]
    assert len({line.key for line in statement.lines}) == 3


def test_a_batch_whose_transactions_do_not_add_up_is_refused() -> None:
    data = read("camt053-batch.xml").replace(b'"VND">150000<', b'"VND">150001<')
    with pytest.raises(StatementError) as e:
        parse_statements(data)
    assert (e.value.code, e.value.line) == ("statement_unbalanced", 1)


def test_usd_amounts_in_cents_with_the_banks_rate() -> None:
    (statement,) = parse_statements(read("camt053-usd-rate.xml"))
    assert statement.currency == "USD"
    assert statement.account_number == "VN120011370555444"
    assert (statement.opening_balance_vnd, statement.closing_balance_vnd) == (100_000, 135_050)
    first, second = statement.lines
    assert (first.amount_vnd, first.rate, first.vnd) == (25_050, "23050.5", 5_774_150)  # 250.50 × 23,050.5
    assert (second.amount_vnd, second.vnd) == (10_000, 2_305_050)


def test_usd_without_a_rate_has_no_dong_value() -> None:
    (statement,) = parse_statements(read("camt053-usd-no-rate.xml"))
    assert [(line.amount_vnd, line.vnd, line.rate) for line in statement.lines] == [(5_000, None, None)]


def test_a_rate_given_from_dong_to_the_currency_is_turned_round() -> None:
    data = read("camt053-usd-rate.xml").replace(
        b"<SrcCcy>USD</SrcCcy><TrgtCcy>VND</TrgtCcy><UnitCcy>USD</UnitCcy><XchgRate>23050.5",
        b"<SrcCcy>VND</SrcCcy><TrgtCcy>USD</TrgtCcy><XchgRate>0.00004")
    first = parse_statements(data)[0].lines[0]
    assert (first.rate, first.vnd) == ("25000", 6_262_500)


def test_an_amount_without_its_currency_is_refused() -> None:
    with pytest.raises(StatementError) as e:
        parse_statements(read("camt053-no-ccy.xml"))
    assert (e.value.code, e.value.line) == ("statement_currency_missing", 1)


def test_an_entry_in_another_currency_than_its_account_is_refused() -> None:
    data = read("camt053-usd-no-rate.xml").replace(b'<Amt Ccy="USD">50.00', b'<Amt Ccy="EUR">50.00')
    with pytest.raises(StatementError) as e:
        parse_statements(data)
    assert e.value.code == "statement_currency"


def test_cents_finer_than_the_currency_are_refused() -> None:
    data = read("camt053-usd-no-rate.xml").replace(b">50.00<", b">50.005<").replace(
        b">1400.50<", b">1400.505<")
    with pytest.raises(StatementError) as e:
        parse_statements(data)
    assert e.value.code == "statement_amount_invalid"


@given(st.integers(min_value=1, max_value=10**12), st.decimals(min_value=1, max_value=100_000, places=4))
def test_dong_value_is_within_half_a_dong(minor: int, rate: Decimal) -> None:
    exact = Decimal(minor).scaleb(-minor_digits("USD")) * rate
    assert abs(foreign_to_vnd(minor, "USD", rate) - exact) <= Decimal("0.5")


@pytest.mark.parametrize(("given_id", "registered", "same"), [
    ("0011004123456", "0011004123456", True), ("0011-004 123456", "0011004123456", True),
    ("VN120011370555444", "0011370555444", True), ("0011370555444", "VN120011370555444", True),
    ("0011004999888", "0011004123456", False), ("VN12001137055544", "0011370555444", False),
    ("990011370555444", "0011370555444", False)])
def test_an_account_by_number_or_iban(given_id: str, registered: str, same: bool) -> None:
    assert same_account(given_id, registered) is same
