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
