"""History always loads: rules are checked when a command is decided, never when a stored event is
applied; an event whose shape changed is carried forward by the library's upcasting."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from domain import donors, inputs, receipts
from domain.bank import BankAccount, BankLine
from domain.donors import Donor
from domain.errors import InvalidInput
from domain.meta import Context
from domain.receipts import Receipt
from ledger import application as ledger
from tests.unit.test_rules import FINANCE, Book, refused

META = Context(actor="finance-1", role="finance").meta()


def test_a_donor_kind_and_a_channel_dropped_by_a_later_release_still_load(
        monkeypatch: pytest.MonkeyPatch) -> None:
    book = Book()
    fund_donor = UUID(book.ledger.register_donor(FINANCE, "h1", name="Quỹ Hy Vọng", kind="fund")["id"])
    cash = UUID(book.receive(500_000, donor_id=fund_donor, channel="cash")["id"])
    # The next release knows no "fund" donors and no cash.
    for module in (donors, ledger):
        monkeypatch.setattr(module, "DONOR_KINDS", ("individual", "business", "organisation", "agency"))
    for module in (receipts, inputs):
        monkeypatch.setattr(module, "CHANNELS", ("bank", "in_kind"))

    loaded = book.ledger.require(fund_donor, Donor, "donor")
    personal = book.ledger.donor_personal_data(loaded)
    assert (loaded.kind, personal and personal["name"]) == ("fund", "Quỹ Hy Vọng")
    assert book.ledger.require(cash, Receipt, "receipt").amount_vnd == 500_000
    # ... and the rule holds for new commands.
    refused(book, InvalidInput, book.ledger.register_donor, FINANCE, "h2", name="Quỹ B", kind="fund")
    refused(book, InvalidInput, book.receive, 1_000, channel="cash")


def test_stored_events_that_break_todays_rules_still_load() -> None:
    """Events as an older release (or a bug since fixed) may have written them, saved raw."""
    book = Book()
    odd_donor = Donor(id=uuid4(), kind="alien", public_name=None, anonymous=False, sealed={}, meta=META)
    odd_receipt = Receipt(id=uuid4(), donor_id=odd_donor.id, fund="campaign", received_on="1999-01-01",
                          channel="pigeon", amount_vnd=1, goods=None, restriction={}, pledge_id=None,
                          bank_txn_id=None, mobilised_by=None, note=None, meta=META, donor_name=None,
                          after_closing=None)
    account = BankAccount(id=uuid4(), code="", bank="", bank_bin=None, account_number="", fund="campaign",
                          meta=META, currency="VND")
    line = BankLine(id=uuid4(), account_code="", statement_id=uuid4(), key="k", booked_on="1999-01-01",
                    amount_vnd=0, balance_vnd=0, bank_txn_id=None, counterparty="",
                    counterparty_account=None, description="", reversal=False, meta=META,
                    currency="VND", amount=None, balance=None, rate=None)
    # Written before accounts and lines had currencies: their events carry none.
    for aggregate, fields in ((account, ("currency",)), (line, ("currency", "amount", "balance", "rate"))):
        for pending in aggregate.pending_events:
            for name in fields:
                pending.__dict__.pop(name, None)
    book.ledger.save(odd_donor, odd_receipt, account, line)

    assert book.ledger.require(odd_donor.id, Donor, "donor").kind == "alien"
    assert book.ledger.require(odd_receipt.id, Receipt, "receipt").received_on == "1999-01-01"
    assert book.ledger.require(account.id, BankAccount, "bank account").account_number == ""
    assert book.ledger.require(line.id, BankLine, "bank line").amount_vnd == 0
    assert book.ledger.require(account.id, BankAccount, "bank account").currency == "VND"
    assert book.ledger.require(line.id, BankLine, "bank line").currency == "VND"


# ---- upcasting: a log written by the previous shape of an event -----------------------------------

class GiftV1(Aggregate):
    """The first release's shape: an amount, nothing else."""

    @event("Given")
    def __init__(self, *, amount: int) -> None:
        self.amount = amount


class Gift(Aggregate):
    """The next release: amounts are named `amount_vnd` and a gift says its channel. Old events are
    carried forward by `upcast_v1_v2` (the library runs it on every event stored before)."""

    @event("Given")
    def __init__(self, *, amount_vnd: int, channel: str) -> None:
        self.amount_vnd = amount_vnd
        self.channel = channel


def _upcast_v1_v2(state: dict[str, Any]) -> None:
    state["amount_vnd"] = state.pop("amount")
    state["channel"] = "bank"


# As the library's docs write it inside the event class: `class_version = 2` and a static method.
Gift.Given.class_version = 2  # type: ignore[attr-defined]
Gift.Given.upcast_v1_v2 = staticmethod(_upcast_v1_v2)  # type: ignore[attr-defined]


def test_a_log_written_by_the_previous_event_shape_loads_through_the_upcaster() -> None:
    old = Book()
    gift = GiftV1(amount=250_000)
    old.ledger.save(gift)
    # The same stored record, read by the next release (whose class holds the same topic: here the
    # two releases' classes live side by side, so the record's topics are renamed from one to the other).
    written = old.ledger.recorder.select_events(gift.id)
    assert [e.topic for e in written] == [f"{__name__}:GiftV1.Given"]
    assert b"class_version" not in written[0].state  # version 1 is stored without one

    new = Book()
    new.ledger.recorder.insert_events([
        replace(e, topic=f"{__name__}:Gift.Given", state=e.state.replace(b":GiftV1", b":Gift"))
        for e in written])
    loaded = new.ledger.repository.get(gift.id)
    assert isinstance(loaded, Gift)
    assert (loaded.amount_vnd, loaded.channel) == (250_000, "bank")

    # New events are written in the new shape, and load without upcasting.
    fresh = Gift(amount_vnd=1_000, channel="cash")
    new.ledger.save(fresh)
    (stored,) = new.ledger.recorder.select_events(fresh.id)
    assert b'"class_version":2' in stored.state.replace(b" ", b"")
    assert new.ledger.repository.get(fresh.id).channel == "cash"
