#!/usr/bin/env python3
"""Recompute the money figures of Minh Bạch's public overview from the public export alone.

    python public_figures.py PUBLIC_EXPORT.jsonl [--season 2021]

Standard library only; imports nothing from Minh Bạch. The input is the public export
(`GET /api/v1/public/export` or `minhbach audit export --public`, format `minhbach-public-log/2`,
docs/verifiable-log.md §7.1); check it first with tools/verify_export.py, which proves that its
leaves are the ones the signed tree head covers. This script then reads each leaf's `public`
facts (docs/verifiable-log.md §1.2) and prints, as JSON, the figures of `/api/v1/public/summary`:

- `received_vnd`, `by_fund`, `by_month` (money received and receipts per month): every
  `Receipt.Recorded`, less the receipts a `Receipt.Reversed` names; a season `YYYY...` keeps the
  receipts received in year `YYYY`; `received_goods_vnd`, of those, the receipts of goods (a
  receipt's `goods` fact) at their value;
- `allocated_vnd`, `distributed_vnd`, and both per category (`by_category`) and per district
  (`by_district`): `Allocation.Made` less reversed allocations, `Distribution.Made` less
  reversed distributions, of the season's programmes (all seasons without one);
- `donors`: the donors of the receipts kept, counted from public facts only: each public name
  once, and each anonymous ("Ẩn danh") gift once, since nothing public may link an anonymous
  donor's gifts (docs/verifiable-log.md §8).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

ANONYMOUS = "Ẩn danh"


def public_leaves(lines: Iterable[bytes]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event kind, public facts) of every leaf with public facts, in log order."""
    it = iter(lines)
    header = json.loads(next(it))
    if header.get("format") != "minhbach-public-log/2":
        raise ValueError(f"not a public export: format {header.get('format')!r}")
    for raw in it:
        leaf = json.loads(base64.b64decode(json.loads(raw)["leaf"]))
        if leaf["public"] is not None:
            yield leaf["topic"].rpartition(":")[2], leaf["public"]


def _every_month(months: dict[str, list[int]]) -> list[dict[str, Any]]:
    if not months:
        return []
    first, last = min(months), max(months)
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while (current := f"{y:04d}-{m:02d}") <= last:
        value, count = months.get(current, [0, 0])
        out.append({"month": current, "received_vnd": value, "receipts": count})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def figures(leaves: Iterable[tuple[str, dict[str, Any]]], season: str | None = None) -> dict[str, Any]:
    year = season[:4] if season else None
    funds: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # (month, fund)
    donors: dict[str, int] = defaultdict(int)  # public name (or one anonymous gift) → receipts
    places: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # (district, category)

    def receipt(r: dict[str, Any], sign: int) -> None:
        if year and not str(r["received_on"]).startswith(year):
            return
        fund = funds[(str(r["received_on"])[:7], r["fund"])]
        fund[0] += sign * r["amount_vnd"]
        fund[1] += sign
        if r.get("goods"):  # goods, at their value
            fund[2] += sign * r["amount_vnd"]
        who = r["donor"]
        donors[f"gift:{r['reference']}" if who in (None, ANONYMOUS) else f"name:{who}"] += sign

    def programme(p: dict[str, Any], column: int, amount: int) -> None:
        if season and p["season"] != season:
            return
        places[(p["district"], p["category"])][column] += amount

    for kind, facts in leaves:
        if kind == "Receipt.Recorded":
            receipt(facts, 1)
        elif kind == "Receipt.Reversed" and facts.get("reverses"):
            receipt(facts["reverses"], -1)
        elif kind == "Allocation.Made":
            programme(facts, 0, facts["amount_vnd"])
        elif kind == "Allocation.Reversed" and facts.get("reverses"):
            programme(facts["reverses"], 0, -facts["reverses"]["amount_vnd"])
        elif kind == "Distribution.Made":
            programme(facts, 1, facts["total_vnd"])
        elif kind == "Distribution.Reversed" and facts.get("reverses"):
            programme(facts["reverses"], 1, -facts["reverses"]["total_vnd"])

    # As the summary: a month, or a fund in a month, with no receipt left counts for nothing.
    months: dict[str, list[int]] = {}
    by_fund: dict[str, int] = defaultdict(int)
    goods = 0
    for (month, fund), (value, count, goods_value) in funds.items():
        if count:
            goods += goods_value
            by_fund[fund] += value
            kept = months.setdefault(month, [0, 0])
            kept[0] += value
            kept[1] += count

    def by(index: int, key: str) -> list[dict[str, Any]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for place, (allocated, distributed) in places.items():
            out[place[index]][0] += allocated
            out[place[index]][1] += distributed
        return [{key: k, "allocated_vnd": a, "distributed_vnd": d} for k, (a, d) in sorted(out.items())]

    return {
        "season": season,
        "received_vnd": sum(by_fund.values()),
        "received_goods_vnd": goods,
        "allocated_vnd": sum(a for a, _ in places.values()),
        "distributed_vnd": sum(d for _, d in places.values()),
        "donors": sum(1 for n in donors.values() if n > 0),
        "by_fund": [{"fund": f, "received_vnd": v} for f, v in sorted(by_fund.items())],
        "by_category": by(1, "category"),
        "by_district": by(0, "district"),
        "by_month": _every_month(months),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Recompute the public figures from the public export.")
    parser.add_argument("file", help="the public export (minhbach-public-log/2)")
    parser.add_argument("--season", help="the season, as /api/v1/public/summary?season= takes it")
    args = parser.parse_args(argv)
    with open(args.file, "rb") as f:
        result = figures(public_leaves(f), args.season)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
