"""The bank's domain rules, without IO: a line moves money, is matched once, to the right kind
of entry; and what an import may match by itself."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.bank import BankLine, EntryRef, LineInput, bank_line_id
from domain.dates import DEFAULT_WINDOW
from domain.errors import InvalidInput
from domain.matching import payment_code
from domain.meta import Context
from ledger.bank_book import ImportPlan, check_line

META = Context(actor="test", role="finance").meta()


def line(amount: int) -> BankLine:
    return BankLine(id=uuid4(), account_code="VCB", statement_id=uuid4(), key="txn:1",
                    booked_on="2021-03-01", amount_vnd=amount, balance_vnd=amount, bank_txn_id="1",
                    counterparty="NGUYEN VAN AN", counterparty_account=None, description="",
                    reversal=False, meta=META, currency="VND", amount=None, balance=None, rate=None)


def test_a_line_moves_money() -> None:
    """Checked when the import is decided (check_line), not when a stored line is applied."""
    with pytest.raises(InvalidInput, match="non-zero"):
        check_line(credit(0), "line 1", DEFAULT_WINDOW)
    assert check_line(credit(1), "line 1", DEFAULT_WINDOW).amount_vnd == 1
    assert line(0).amount_vnd == 0  # a stored event, whatever it holds, is applied as it is


def test_a_line_is_matched_once_and_to_the_right_kind() -> None:
    credit, debit = line(100_000), line(-100_000)
    with pytest.raises(InvalidInput):
        credit.match(match_id=uuid4(), target_id=uuid4(), kind="distribution", how="confirmed", meta=META)
    with pytest.raises(InvalidInput):
        debit.match(match_id=uuid4(), target_id=uuid4(), kind="receipt", how="confirmed", meta=META)
    first = uuid4()
    credit.match(match_id=first, target_id=uuid4(), kind="receipt", how="confirmed", meta=META)
    with pytest.raises(InvalidInput):
        credit.match(match_id=uuid4(), target_id=uuid4(), kind="receipt", how="confirmed", meta=META)
    with pytest.raises(InvalidInput):
        credit.unmatch(match_id=uuid4(), reason="not this one", meta=META)
    credit.unmatch(match_id=first, reason="nhầm", meta=META)
    assert credit.match_id is None and credit.target_id is None


def test_the_same_key_of_the_same_account_is_the_same_line() -> None:
    assert bank_line_id("VCB", "h:abc") == bank_line_id("VCB", "h:abc")
    assert bank_line_id("VCB", "h:abc") != bank_line_id("BIDV", "h:abc")


def entry(amount: int, *, txn: str | None = None, reference: str | None = None,
          matched: bool = False) -> EntryRef:
    return EntryRef(id=uuid4(), amount_vnd=amount, reference=reference, bank_txn_id=txn,
                    matched=matched, claimed_before=False)


def credit(amount: int, *, txn: str | None = None, text: str = "") -> LineInput:
    return LineInput(key="k", booked_on="2021-03-01", amount_vnd=amount, balance_vnd=amount,
                     bank_txn_id=txn, counterparty="", counterparty_account=None, description=text)


def test_an_import_matches_by_itself_only_what_is_sure() -> None:
    by_txn, by_ref, taken = (entry(500_000, txn="FT1"), entry(700_000, reference="PT-2021-000123"),
                             entry(900_000, txn="FT9", matched=True))
    plan = ImportPlan([by_txn, by_ref, taken], {})
    assert plan.receipt_for(credit(500_000, txn="FT1")) == (by_txn, "bank_txn_id")
    assert plan.receipt_for(credit(500_001, txn="FT1")) is None  # the amount must be the same
    assert plan.receipt_for(credit(700_000, text="ung ho pt 2021 000123")) == (by_ref, "reference")
    assert plan.receipt_for(credit(-700_000, text="PT-2021-000123")) is None  # money out
    assert plan.receipt_for(credit(900_000, txn="FT9")) is None  # already matched to a line
    assert plan.receipt_for(credit(700_000, text="PT-2021-000123 PT-2021-000124")) == (by_ref, "reference")
    plan.taken.add(by_ref.id)  # an earlier line of this import took it
    assert plan.receipt_for(credit(700_000, text="PT-2021-000123")) is None


def test_a_payment_code_names_a_pledge_only_when_it_names_one() -> None:
    one, two, three = UUID(int=1), UUID(int=2), UUID(int=3)
    code = payment_code(one)
    plan = ImportPlan([entry(1_000, txn="FT5")], {code: [one], "MBSHARED000": [two, three]})
    assert plan.pledge_for(credit(1_000_000, text=f"ck {code.lower()} ung ho")) == one
    assert plan.pledge_for(credit(-1_000, text=code)) is None
    # A transaction some receipt already holds is never turned into a new receipt.
    assert plan.pledge_for(credit(1_000_000, txn="FT5", text=code)) is None
