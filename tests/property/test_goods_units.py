"""Goods are an item and a unit (domain/goods.py): random receipts of one item in mixed units,
named in every case, accent and spacing, then random allocations and distributions, on the
ledger alone (in-memory store). Whatever happens:

- a unit's stock (in the fund, in a programme) is never negative;
- an allocation or distribution of a unit takes no more of it than came in of that unit, and is
  refused exactly when it asks for more than is left of it;
- the same item counted in another unit is never drawn.
"""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.errors import InsufficientFunds, NotFound
from domain.goods import GoodsKey, goods_key
from domain.programmes import Programme
from tests.unit.test_rules import C1, C2, Book

# Spellings of one item and of its units: each group is one key.
ITEM_SPELLINGS = {
    "ao am": ["Áo ấm", "ÁO ẤM", "ao am", "  Áo   ấm ", unicodedata.normalize("NFD", "Áo ấm")],
    "sua": ["Sữa", "SỮA", "sua"],
}
UNIT_SPELLINGS = {
    "cai": ["cái", "chiếc", "CÁI", "Chiếc"],
    "thung": ["thùng", "Thùng", "THUNG"],
    "hop": ["hộp", "Hộp"],
}
COMMUNES = (C1, C2)


def spelling(group: dict[str, list[str]]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(group)).flatmap(lambda key: st.sampled_from(group[key]))


receipts = st.lists(st.tuples(spelling(ITEM_SPELLINGS), spelling(UNIT_SPELLINGS),
                              st.integers(1, 30), st.integers(1, 500_000)), min_size=1, max_size=8)
# A step may follow a receipt (an allocation) or the last allocation (a distribution): the same
# item and unit spelled some other way, so that most find stock; else it names anything.
steps = st.lists(st.tuples(st.sampled_from(("allocate", "distribute")), spelling(ITEM_SPELLINGS),
                           spelling(UNIT_SPELLINGS), st.integers(1, 40), st.sampled_from(COMMUNES),
                           st.none() | st.integers(0, 10)),
                 min_size=1, max_size=14)


def key_of_receipt(book: Book, receipt_id: str) -> GoodsKey | None:
    return book.receipt(receipt_id).goods_key


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(receipts=receipts, steps=steps)
def test_no_unit_ever_pays_for_another(receipts: list[tuple[str, str, int, int]],
                                       steps: list[tuple[str, str, str, int, str, int | None]]
                                       ) -> None:
    book = Book()
    came_in: dict[GoodsKey, int] = {}
    for item, unit, quantity, value in receipts:
        book.receive(goods={"item": item, "unit": unit, "quantity": quantity, "unit_value_vnd": value})
        key = goods_key(item, unit)
        came_in[key] = came_in.get(key, 0) + quantity
    in_fund = dict(came_in)
    # per (commune, key): allocated into the programme, and given out of it
    allocated: dict[tuple[str, GoodsKey], int] = {}
    given_out: dict[tuple[str, GoodsKey], int] = {}

    last: tuple[str, GoodsKey] | None = None
    for action, item, unit, quantity, commune, follow in steps:
        if follow is not None and (action == "allocate" or last is not None):
            # An allocation follows a receipt, a distribution the last allocation.
            if action == "allocate":
                item_key, unit_key = goods_key(*receipts[follow % len(receipts)][:2])
            else:
                assert last is not None
                commune, (item_key, unit_key) = last
            item = ITEM_SPELLINGS[item_key][follow % len(ITEM_SPELLINGS[item_key])]
            unit = UNIT_SPELLINGS[unit_key][follow % len(UNIT_SPELLINGS[unit_key])]
        key = goods_key(item, unit)
        if action == "allocate":
            left = in_fund.get(key, 0)
            try:
                response = book.allocate(item=item, unit=unit, quantity=quantity, commune=commune)
            except InsufficientFunds:
                assert quantity > left, f"refused {quantity} of {key} with {left} left in the fund"
                continue
            assert quantity <= left, f"allocated {quantity} of {key} with only {left} in the fund"
            # Every draw is of this item in this unit, never the same item in another unit.
            for draw in response["drawn_from"]:
                assert key_of_receipt(book, draw["receipt_id"]) == key
            assert sum(d["quantity"] for d in response["drawn_from"]) == quantity
            event("allocated")
            in_fund[key] = left - quantity
            allocated[(commune, key)] = allocated.get((commune, key), 0) + quantity
            last = (commune, key)
        else:
            stock = allocated.get((commune, key), 0) - given_out.get((commune, key), 0)
            if follow is not None:  # at most one more than the programme holds of it
                quantity = quantity % (stock + 2) or 1
            line = {"item": item, "unit": unit, "quantity": quantity, "description": "hỗ trợ"}
            try:
                book.distribute([line], commune=commune, beneficiaries_count=1)
            except InsufficientFunds:
                assert quantity > stock, f"refused {quantity} of {key} with {stock} in the programme"
                continue
            except NotFound:  # nothing was allocated to this programme yet
                assert not any(c == commune for c, _ in allocated)
                continue
            assert quantity <= stock, f"gave {quantity} of {key} with only {stock} in the programme"
            event("distributed")
            given_out[(commune, key)] = given_out.get((commune, key), 0) + quantity
            made = book.events(kind="Distribution.Made")[-1]
            for piece in made.lines[0]["drawn_from"]:
                assert key_of_receipt(book, piece["receipt_id"]) == key

    # The ledger's own state agrees, unit by unit, and nothing is below zero.
    for receipt_id in book.receipts:
        receipt = book.receipt(receipt_id)
        assert 0 <= receipt.remaining_quantity <= (receipt.goods or {}).get("quantity", 0)
    for key, total in came_in.items():
        left = sum(book.receipt(r).remaining_quantity for r in book.receipts
                   if book.receipt(r).goods_key == key)
        assert left == in_fund[key] >= 0
        out = sum(v for (_, k), v in given_out.items() if k == key)
        assert out <= total - in_fund[key] <= total
    for commune in COMMUNES:
        programme: Programme | None = book.programme(commune=commune)
        for (c, key), quantity in allocated.items():
            if c != commune:
                continue
            assert programme is not None
            display = next(book.receipt(r).goods for r in book.receipts
                           if book.receipt(r).goods_key == key)
            assert display is not None
            held = programme.stock(display["item"], display["unit"])
            assert held == quantity - given_out.get((c, key), 0) >= 0
