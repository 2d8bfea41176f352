"""Commendation tiers of the donor recognition list (plan section IV.1: the province commends
the organisations and people who gave): a tier is reached by giving at least its amount."""

from __future__ import annotations

from domain.money import MAX_AMOUNT_VND


def parse_tiers(text: str) -> list[tuple[str, int]]:
    """`name=least đồng` pairs separated by `;`, highest first (ValueError when malformed)."""
    tiers = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, least = part.rpartition("=")
        if not sep or not name.strip() or not least.strip().isdigit():
            raise ValueError(f"a recognition tier is `name=least đồng`, not {part!r}")
        amount = int(least.strip())
        if not 0 < amount <= MAX_AMOUNT_VND:
            raise ValueError(f"a recognition tier's least amount is 1 to {MAX_AMOUNT_VND} đồng")
        tiers.append((name.strip(), amount))
    if len({n for n, _ in tiers}) != len(tiers):
        raise ValueError("two recognition tiers share a name")
    return sorted(tiers, key=lambda t: -t[1])


def tier_of(given_vnd: int, tiers: list[tuple[str, int]]) -> str | None:
    """The highest tier this gift reaches, or None."""
    return next((name for name, least in tiers if given_vnd >= least), None)
