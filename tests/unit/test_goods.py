"""What makes goods the same item (domain/goods.py), and goods recorded before units were kept
with them, on the domain alone."""

from __future__ import annotations

import unicodedata
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InsufficientFunds
from domain.goods import goods_key, unit_key
from domain.ids import programme_id
from domain.meta import Context
from domain.programmes import Programme
from tests.unit.test_rules import AREAS, C1, CLOTHES, Book, refused

META = Context(actor="finance-1", role="finance").meta()
# Vietnamese letters, each vowel with every tone, in both cases; digits and spaces.
_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
VIETNAMESE = sorted({unicodedata.normalize("NFC", v + t) for v in _VOWELS for t in _TONES}
                    | set("bcdđghklmnpqrstvx"))
words = st.text(st.sampled_from([*VIETNAMESE, *(c.upper() for c in VIETNAMESE), *"0123456789 "]),
                min_size=1, max_size=20)


@given(words, words)
def test_case_accents_spacing_and_unicode_form_never_make_another_item(item: str, unit: str) -> None:
    key = goods_key(item, unit)
    for variant in (item.upper(), item.lower(), f"  {item}  ", item.replace(" ", "   "),
                    unicodedata.normalize("NFD", item)):
        assert goods_key(variant, unit).item == key.item
    assert goods_key(item, unicodedata.normalize("NFD", unit.upper())).unit == key.unit


def test_vietnamese_spellings_of_one_item_are_one_and_different_units_are_two() -> None:
    assert goods_key("Áo ấm", "cái") == goods_key("ÁO ẤM", "chiếc") == goods_key("ao  am", "CÁI")
    assert goods_key("Áo ấm", "cái") != goods_key("Áo ấm", "thùng")
    assert unit_key("thùng") != unit_key("hộp")
    assert unit_key("Ký") == unit_key("kg") == unit_key("kilogram")
    assert unit_key(None) == unit_key("") == ""


def test_goods_allocated_before_tranches_kept_units_go_out_by_their_receipts_unit() -> None:
    """A programme's tranche from an older release has no unit: it takes its receipt's, so the
    goods can be given out by their real unit, and never by another."""
    book = Book()
    receipt = book.receive(goods={**CLOTHES, "quantity": 10})
    district = AREAS.district_of(C1)
    pid = programme_id("2021", C1, "warm-clothing")
    programme = Programme(id=pid, season="2021", district=district, commune=C1,
                          category="warm-clothing", meta=META)
    allocation_id = uuid4()
    # The pieces as an older release wrote them: an item, no unit, no receipt date.
    programme.receive(allocation_id=allocation_id, meta=META, pieces=[
        {"receipt_id": receipt["id"], "amount_vnd": 10 * 150_000, "quantity": 10, "item": "Áo ấm"}])
    stored = book.receipt(receipt["id"])
    stored.draw(allocation_id=allocation_id, amount_vnd=10 * 150_000, quantity=10, meta=META)
    book.ledger.save(programme, stored)

    refused(book, InsufficientFunds, book.distribute,
            [{"item": "Áo ấm", "unit": "thùng", "quantity": 1, "description": "Áo ấm"}])
    given_out = book.distribute([{"item": "áo ấm", "unit": "cái", "quantity": 4,
                                  "description": "Áo ấm"}], beneficiaries_count=4)
    assert given_out["total_vnd"] == 4 * 150_000
    loaded = book.programme()
    assert loaded is not None and loaded.stock("Áo ấm", "chiếc") == 0  # the tranche keeps no unit
    assert sum(t["remaining_quantity"] for t in loaded.tranches.values()) == 6
