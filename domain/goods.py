"""What makes two goods the same item: their name and their unit, each compared folded.

"Áo ấm" by the piece and "Áo ấm" by the box of 20 are two items: a stock of one must never pay
for the other (issue 12: a child was given "1 Áo ấm" worth a box). "Áo ấm", "ÁO ẤM" and
"ao  am" are one item: the name is compared as `domain.text.fold` makes it, after NFC and with
runs of spaces made one. A unit is compared folded too, and a few spellings of one unit count as
one ("chiếc" is "cái"); units that hold different quantities ("thùng", "hộp") stay apart.

Receipts, allocations, programmes' tranches and distribution lines all match goods by this key
(`GoodsKey`); the names shown are the ones first recorded. Events recorded before a unit was
asked for outside receipts carry none: their unit is "" (unknown), which matches no unit a
command names.
"""

from __future__ import annotations

from typing import NamedTuple

from domain.text import fold, nfc

# Where goods in stock are counted: in a fund (received, not yet allocated) or in a programme
# (allocated, not yet distributed).
STOCK_LEVELS = ("fund", "programme")

# Folded spelling → the folded unit it means. Only true synonyms: a box and a carton may hold
# different numbers of pieces, so they are not merged.
UNIT_SYNONYMS: dict[str, str] = {
    "chiec": "cai",
    "kilogram": "kg",
    "kilogam": "kg",
    "ki": "kg",
    "ky": "kg",
    "ki lo": "kg",
    "kilo": "kg",
    "lit": "l",
    "litre": "l",
    "liter": "l",
}


class GoodsKey(NamedTuple):
    """The identity of an item of goods: its folded name and its folded, canonical unit."""

    item: str
    unit: str

    def text(self) -> str:
        """One string for a read model's column: 'ao am|cai'."""
        return f"{self.item}|{self.unit}"


def item_key(item: str) -> str:
    return fold(nfc(item))


def unit_key(unit: str | None) -> str:
    """The canonical folded unit; '' for none (events recorded before units were required)."""
    folded = fold(nfc(unit or ""))
    return UNIT_SYNONYMS.get(folded, folded)


def goods_key(item: str, unit: str | None) -> GoodsKey:
    return GoodsKey(item_key(item), unit_key(unit))


def describe(item: str, unit: str | None) -> str:
    """An item as a message names it: "'Áo ấm' (cái)", or "'Áo ấm' (no unit)" for old records."""
    return f"{item!r} ({unit or 'no unit'})"
