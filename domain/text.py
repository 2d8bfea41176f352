"""Vietnamese text rules: NFC everywhere, and a folded form for matching ("Nguyễn" ~ "NGUYEN")."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    """Lower case, no diacritics, đ→d: the key for search and matching."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def format_vnd(amount_vnd: int) -> str:
    """1250000 → '1.250.000 ₫' (Vietnamese grouping)."""
    sign = "-" if amount_vnd < 0 else ""
    return f"{sign}{abs(amount_vnd):,}".replace(",", ".") + " ₫"
