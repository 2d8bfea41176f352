"""Money and reference vocabulary: amounts in whole đồng, funds, categories, restrictions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypedDict

from domain.dates import DEFAULT_WINDOW, DateWindow
from domain.errors import InvalidInput

MAX_AMOUNT_VND = 10**15
# No total the ledger keeps may pass this: received, allocated (counting allocations later
# reversed), pledged, needs estimated. Every read-model column and sum is a 64-bit integer on
# SQLite and PostgreSQL alike (at most 9.2 × 10^18), so the 8.2 × 10^18 of headroom above the
# cap holds more than 8,000 of the largest commands in flight at the moment one is checked.
MAX_TOTAL_VND = 10**18
TOTALS = ("received", "allocated", "pledged", "estimated")
# What one event of each kind can add to a total, where many events move it: the name of its
# amount field, or None for nothing. Any other event the total's read model reads may add up to
# MAX_AMOUNT_VND (ledger/total_bound.py). These are the kinds projections/balances.py reads: it
# adds a receipt's amount to the received column, a draw's to the allocated one, and nothing else
# raises either (tests/integration/test_total_bound.py keeps the two in step).
_BALANCES_KINDS = ("Receipt.Recorded", "Receipt.Drawn", "Receipt.Returned", "Receipt.Reversed",
                   "Programme.Opened", "Programme.FundsAllocated", "Programme.SupportDistributed",
                   "Programme.AllocationReturned", "Programme.DistributionReturned")
RAISED_BY: dict[str, dict[str, str | None]] = {
    "received": {k: "amount_vnd" if k == "Receipt.Recorded" else None for k in _BALANCES_KINDS},
    "allocated": {k: "amount_vnd" if k == "Receipt.Drawn" else None for k in _BALANCES_KINDS},
}
MAX_QUANTITY = 10**9

FUNDS: dict[str, dict[str, str]] = {
    "child-protection-fund": {"name_vi": "Quỹ Bảo trợ trẻ em", "name_en": "Child Protection Fund"},
    "fund-for-the-poor": {"name_vi": "Quỹ Vì người nghèo", "name_en": "Fund for the Poor"},
    "state-budget": {"name_vi": "Ngân sách nhà nước", "name_en": "State budget"},
    "campaign": {"name_vi": "Vận động xã hội", "name_en": "Social campaign"},
}

CATEGORIES: dict[str, dict[str, str]] = {
    "nutrition-health": {"name_vi": "Dinh dưỡng, khám chữa bệnh", "name_en": "Nutrition and health"},
    "play-recreation": {"name_vi": "Vui chơi, giải trí", "name_en": "Play and recreation"},
    "warm-clothing": {"name_vi": "Đồ ấm", "name_en": "Warm clothing"},
    "tet-gifts": {"name_vi": "Quà Tết", "name_en": "Tết gifts"},
    "other": {"name_vi": "Khác", "name_en": "Other"},
}


class Restriction(TypedDict, total=False):
    """A donor's earmark; a missing key means "any"."""

    district: str
    commune: str
    category: str


class Goods(TypedDict):
    item: str
    unit: str
    quantity: int
    unit_value_vnd: int


def check_amount(amount_vnd: int, what: str = "amount_vnd") -> int:
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int):
        raise InvalidInput(f"{what} must be a whole number of đồng")
    if not 0 < amount_vnd <= MAX_AMOUNT_VND:
        raise InvalidInput(f"{what} must be between 1 and {MAX_AMOUNT_VND} đồng")
    return amount_vnd


def check_quantity(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput("quantity must be a whole number")
    if not 0 < quantity <= MAX_QUANTITY:
        raise InvalidInput(f"quantity must be between 1 and {MAX_QUANTITY}")
    return quantity


def check_count(count: int, what: str) -> int:
    """A number of children: a whole number, zero or more."""
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_QUANTITY:
        raise InvalidInput(f"{what} must be a whole number from 0 to {MAX_QUANTITY}")
    return count


def check_fund(fund: str) -> str:
    if fund not in FUNDS:
        raise InvalidInput(f"unknown fund {fund!r}; expected one of {sorted(FUNDS)}")
    return fund


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise InvalidInput(f"unknown category {category!r}; expected one of {sorted(CATEGORIES)}")
    return category


def goods_value(goods: Mapping[str, Any]) -> int:
    value = check_quantity(goods["quantity"]) * check_amount(goods["unit_value_vnd"], "unit_value_vnd")
    return check_amount(value, "quantity × unit_value_vnd")


def normalise_restriction(restriction: Mapping[str, Any] | None) -> Restriction:
    result: Restriction = {}
    if not restriction:
        return result
    for key in ("district", "commune", "category"):
        value = restriction.get(key)
        if value:
            result[key] = str(value)
    if "category" in result:
        check_category(result["category"])
    return result


def restriction_key(restriction: Mapping[str, Any]) -> str:
    """A stable text key for grouping balances: '' for unrestricted money."""
    keys = ("district", "commune", "category")
    return "|".join(f"{k}={restriction[k]}" for k in keys if restriction.get(k))


def same_restriction(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two checked restrictions earmark the same money: a commune implies its district
    (Ledger.check_restriction fills it in and refuses a contradicting one), so beside a commune
    the district is not compared, and an earmark stored without it still matches."""
    def key(r: Mapping[str, Any]) -> tuple[Any, ...]:
        return (None if r.get("commune") else r.get("district") or None, r.get("commune") or None,
                r.get("category") or None)

    return key(a) == key(b)


def describe_restriction(restriction: Mapping[str, Any]) -> str:
    """A restriction as a message shows it: 'district=180, commune=06043, category=tet-gifts',
    or 'no restriction'."""
    return ", ".join(restriction_key(restriction).split("|")) or "no restriction"


def restriction_allows(restriction: Mapping[str, Any], district: str, commune: str, category: str) -> bool:
    return (
        restriction.get("district") in (None, district)
        and restriction.get("commune") in (None, commune)
        and restriction.get("category") in (None, category)
    )


def specificity(restriction: Mapping[str, Any]) -> int:
    """Most specific first: commune beats district; each earmarked field counts."""
    return (4 if restriction.get("commune") else 0) + (2 if restriction.get("district") else 0) + (
        1 if restriction.get("category") else 0
    )


SEASON_PATTERN = r"^\d{4}(-[a-z0-9-]{1,20})?$"
_SEASON = re.compile(SEASON_PATTERN)


def check_season(season: str, window: DateWindow = DEFAULT_WINDOW) -> str:
    """A season's code: its year, and maybe a short name ('2021', '2021-tet'). The year must be
    one of the years of the business-date window: a season `0000` or `2999` is a typo, and a
    season is the year its money is given out, which a business date must be able to name."""
    if not isinstance(season, str) or not _SEASON.fullmatch(season):
        raise InvalidInput("season must be a year, maybe followed by a short code (2021, 2021-tet)")
    if not window.first.year <= int(season[:4]) <= window.last.year:
        raise InvalidInput(f"season must be a year from {window.first.year} to {window.last.year}")
    return season
