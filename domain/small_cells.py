"""The small-cell rule (DESIGN §6), in one place: a public count of persons below 5 is shown as
the string "< 5", in every public answer, JSON and HTML alike, at every grain.

Every public read (`Queries.summary`, `Queries.needs`, `Queries.donation`, `PublicPages.place`)
passes its answer through `hide_small` before it leaves the read layer, so a route or a template
never sees the exact small count. Which figures are counts of persons is decided here, by field
name, and nowhere else (docs/public-figures.md lists them). Counts of receipts (`receipts`,
`by_month[].receipts`) are not counts of persons: every receipt is listed publicly anyway, so
their number tells nothing the list does not.

Zero stays 0: "nobody" identifies nobody. No secondary suppression is attempted: where a total
and all but one of its parts are shown, the hidden part can sometimes be worked out (the figures
are distinct counts, not sums, which makes that rarer but not impossible).
"""

from __future__ import annotations

from typing import Any, TypeVar

SMALL_COUNT = 5
SHOWN_AS = "< 5"

# Public figures that count persons: children, donors, the overrides that let a child be
# supported twice (each is a child), children surveyed in a need.
PERSON_COUNTS = frozenset({
    "children", "children_reached", "children_count", "named_children", "counted_children",
    "beneficiaries_count", "duplicate_overrides", "overrides", "donors",
})

T = TypeVar("T")


def small(n: int) -> int | str:
    """`n` as the public may see it: "< 5" for 1 to 4, else the number."""
    return SHOWN_AS if 0 < n < SMALL_COUNT else n


def hide_small(answer: T) -> T:
    """`answer` (dicts and lists, as JSON would hold them) with every count of persons below 5
    replaced by "< 5", however deep it sits."""
    return _hide(answer)  # type: ignore[no-any-return]


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (small(v) if k in PERSON_COUNTS and _is_count(v) else _hide(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_hidden_or_large(value: Any) -> bool:
    """What a public count of persons may be: 0, 5 or more, or "< 5" (for tests and checks)."""
    return value == SHOWN_AS or (_is_count(value) and (value == 0 or value >= SMALL_COUNT))
