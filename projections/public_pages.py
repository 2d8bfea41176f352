"""Reads the public pages need beyond the JSON API's: the seasons there are, and the figures of
one place (a district or a commune), with public counts of persons below 5 shown as "< 5"
(DESIGN §6, domain/small_cells.py)."""

from __future__ import annotations

from typing import Any

from domain.small_cells import hide_small
from projections.db import Database, Row
from projections.donations import ALL
from projections.queries import Queries, reached


class PublicPages:
    def __init__(self, db: Database, queries: Queries) -> None:
        self.db = db
        self.queries = queries

    def seasons(self) -> list[str]:
        rows = self.db.query("SELECT season FROM programme_balances UNION SELECT season FROM needs")
        return sorted({r["season"] for r in rows}, reverse=True)

    def place(self, *, season: str | None, district: str | None = None,
              commune: str | None = None) -> dict[str, Any]:
        """Allocated, distributed and children reached in one place, in all and by category and
        by commune. Children reached are distinct children at each of these grains, read from
        the donations projection, never summed from smaller ones (docs/public-figures.md)."""
        programmes = self.queries.programme_balances(season=season, district=district, commune=commune)
        with self.db.read() as cur:
            reach = reached(cur, season, district=district, commune=commune)
        place_district = district or (programmes[0]["district"] if programmes else ALL)
        place_commune = commune or ALL

        def children(commune_key: str, category: str) -> int:
            return reach.get((place_district, commune_key, category), (0, 0))[0]

        by_category: dict[str, Row] = {}
        by_commune: dict[str, Row] = {}
        for p in programmes:
            for key, groups, grain in ((p["category"], by_category, (place_commune, p["category"])),
                                       (p["commune"], by_commune, (p["commune"], ALL))):
                g = groups.setdefault(key, {"key": key, "allocated_vnd": 0, "distributed_vnd": 0,
                                            "children": children(*grain)})
                g["allocated_vnd"] += p["allocated_vnd"] - p["returned_vnd"]
                g["distributed_vnd"] += p["distributed_vnd"]
        allocated = sum(g["allocated_vnd"] for g in by_category.values())
        distributed = sum(g["distributed_vnd"] for g in by_category.values())
        # Small counts are hidden at every grain shown here: a district's count for a category
        # may well be one commune's.
        return hide_small({
            "allocated_vnd": allocated, "distributed_vnd": distributed,
            "remaining_vnd": allocated - distributed,
            "children_reached": children(place_commune, ALL) if programmes else 0,
            "by_category": sorted(by_category.values(), key=lambda g: str(g["key"])),
            "by_commune": sorted(by_commune.values(), key=lambda g: str(g["key"])),
            "needs": [n for n in self.queries.needs(season)
                      if (district is None or n["district"] == district)
                      and (commune is None or n["commune"] == commune)],
        })

    def partners(self) -> list[Row]:
        """What each value of `mobilised_by` mobilised, in standing receipts: a partner's code
        (or a free text recorded before partners were reference data) with its money and goods
        and the donors who gave through it."""
        return self.db.query(
            "SELECT mobilised_by, COUNT(DISTINCT donor_id) AS donors,"
            " SUM(CASE WHEN channel = 'in_kind' THEN 0 ELSE amount_vnd END) AS cash_vnd,"
            " SUM(CASE WHEN channel = 'in_kind' THEN amount_vnd ELSE 0 END) AS goods_vnd"
            " FROM public_donations WHERE reversed = 0 AND mobilised_by IS NOT NULL"
            " GROUP BY mobilised_by")

    def partner(self, values: list[str]) -> dict[str, Any]:
        """One partner's page (the `mobilised_by` values naming it): what it mobilised by source
        (fund), cash and goods apart, and where that went: the allocations its receipts paid for,
        by district and category. Donors counted as persons, below 5 as "< 5"."""
        marks = ", ".join("?" * len(values))
        by_fund = self.db.query(
            "SELECT fund, COUNT(*) AS receipts,"
            " SUM(CASE WHEN channel = 'in_kind' THEN 0 ELSE amount_vnd END) AS cash_vnd,"
            " SUM(CASE WHEN channel = 'in_kind' THEN amount_vnd ELSE 0 END) AS goods_vnd"
            f" FROM public_donations WHERE reversed = 0 AND mobilised_by IN ({marks})"
            " GROUP BY fund ORDER BY fund", values) if values else []
        donors = self.db.query_one(
            "SELECT COUNT(DISTINCT donor_id) AS n FROM public_donations"
            f" WHERE reversed = 0 AND mobilised_by IN ({marks})", values) if values else None
        went = self.db.query(
            "SELECT a.district, a.category, SUM(g.amount_vnd) AS allocated_vnd"
            " FROM allocation_draws g JOIN allocations a ON a.allocation_id = g.allocation_id"
            " JOIN public_donations p ON p.receipt_id = g.receipt_id"
            f" WHERE a.reversed = 0 AND p.reversed = 0 AND p.mobilised_by IN ({marks})"
            " GROUP BY a.district, a.category ORDER BY a.district, a.category", values) if values else []
        cash = sum(int(r["cash_vnd"]) for r in by_fund)
        goods = sum(int(r["goods_vnd"]) for r in by_fund)
        allocated = sum(int(r["allocated_vnd"]) for r in went)
        return hide_small({
            "received_vnd": cash + goods, "cash_vnd": cash, "goods_vnd": goods,
            "donors": int(donors["n"]) if donors else 0,
            "by_fund": [{"fund": r["fund"], "cash_vnd": int(r["cash_vnd"]),
                         "goods_vnd": int(r["goods_vnd"])} for r in by_fund],
            "allocated_vnd": allocated, "unallocated_vnd": cash + goods - allocated,
            "went": [{"district": r["district"], "category": r["category"],
                      "allocated_vnd": int(r["allocated_vnd"])} for r in went],
        })
