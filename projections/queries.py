"""Reads over the read models, for the API. No money rule is checked here: only reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from domain.donors import counted_as_pledged, outstanding_vnd
from domain.matching import payment_code
from domain.small_cells import hide_small, small
from domain.text import fold
from projections.db import Cursor, Database, Row
from projections.donations import ALL, ALL_YEARS

MAX_PAGE = 200
# A receipt's donor as the public lists show them: the donor's current public name (a
# correction changes it for every receipt), not the name the receipt was recorded with.
CURRENT_NAME = ("COALESCE((SELECT d.display_name FROM donors d WHERE d.donor_id = {t}donor_id),"
                " {t}donor_display) AS donor")
LISTED_DONOR = CURRENT_NAME.format(t="public_donations.")
# A name search fetches a name's receipts directly up to this many; beyond, it walks newest first.
FEW_MATCHES = 5_000


# The ledger-wide totals kept under money.MAX_TOTAL_VND (money.TOTALS names them), each with
# the projection that holds it.
TOTALS_SQL = {
    "received": ("balances", "SELECT COALESCE(SUM(received_vnd), 0) FROM fund_balances"),
    "allocated": ("balances", "SELECT COALESCE(SUM(allocated_vnd), 0) FROM fund_balances"),
    "pledged": ("donations",
                "SELECT COALESCE(MAX(value), 0) FROM public_counters WHERE name = 'pledged_vnd'"),
    "estimated": ("needs", "SELECT COALESCE(SUM(estimated_vnd), 0) FROM needs"),
}


class Queries:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- the ledger's FIFO candidates -----------------------------------------------------

    def open_receipts(self, fund: str, goods: str | None, district: str, commune: str,
                      category: str) -> Iterator[UUID]:
        """`goods` is the goods' key text (domain/goods.py: folded item and unit), None for money."""
        item = goods
        sql = (
            "SELECT receipt_id FROM receipt_balances WHERE fund = ? AND remaining_vnd > 0"
            " AND reversed = 0 AND " + ("goods_key = ?" if item else "item IS NULL") +
            " AND (r_district IS NULL OR r_district = ?) AND (r_commune IS NULL OR r_commune = ?)"
            " AND (r_category IS NULL OR r_category = ?)"
            " ORDER BY specificity DESC, received_on, position LIMIT ? OFFSET ?"
        )
        params: list[Any] = [fund, *([item] if item else []), district, commune, category]
        offset, page = 0, 200
        while True:
            rows = self.db.query(sql, [*params, page, offset])
            for row in rows:
                yield UUID(row["receipt_id"])
            if len(rows) < page:
                return
            offset += page

    # ---- balances ---------------------------------------------------------------------------

    def fund_balances(self) -> list[Row]:
        """Per fund and restriction. Received, allocated and returned count money and goods
        (at their value); `available_vnd` is the money alone, which a money allocation can
        take, and `goods_value_vnd` the value of the goods still in the fund (by item and unit
        at /balances/stock): available_vnd + goods_value_vnd = received − allocated + returned."""
        rows = self.db.query(
            "SELECT f.fund, f.restriction, f.received_vnd, f.allocated_vnd, f.returned_vnd,"
            " COALESCE((SELECT SUM(g.value_vnd) FROM goods_stock g WHERE g.level = 'fund'"
            "   AND g.fund = f.fund AND g.restriction = f.restriction), 0) AS goods_value_vnd"
            " FROM fund_balances f ORDER BY f.fund, f.restriction")
        for r in rows:
            r["goods_value_vnd"] = int(r["goods_value_vnd"])
            r["available_vnd"] = (r["received_vnd"] - r["allocated_vnd"] + r["returned_vnd"]
                                  - r["goods_value_vnd"])
        return rows

    def programme_balances(self, *, season: str | None = None, district: str | None = None,
                           commune: str | None = None, category: str | None = None) -> list[Row]:
        where, params = _filters(season=season, district=district, commune=commune,
                                 category=category, table="p")
        rows = self.db.query(
            "SELECT p.programme_id, p.season, p.district, p.commune, p.category, p.allocated_vnd,"
            " p.distributed_vnd, p.returned_vnd,"
            " COALESCE((SELECT COUNT(DISTINCT l.child_id) FROM distribution_lines l"
            "   JOIN distributions d ON d.distribution_id = l.distribution_id"
            "   WHERE d.programme_id = p.programme_id AND d.reversed = 0"
            "   AND l.child_id IS NOT NULL), 0) AS named_children,"
            " COALESCE((SELECT SUM(d.beneficiaries_count) FROM distributions d"
            "   WHERE d.programme_id = p.programme_id AND d.reversed = 0), 0) AS group_children,"
            " COALESCE((SELECT SUM(g.value_vnd) FROM goods_stock g WHERE g.level = 'programme'"
            "   AND g.programme_id = p.programme_id), 0) AS goods_value_vnd"
            f" FROM programme_balances p {where}"
            " ORDER BY p.season, p.district, p.commune, p.category", params)
        for r in rows:
            # Money alone, which a money line can take; the goods' value stands apart.
            r["goods_value_vnd"] = int(r["goods_value_vnd"])
            r["remaining_vnd"] = (r["allocated_vnd"] - r["distributed_vnd"] - r["returned_vnd"]
                                  - r["goods_value_vnd"])
            r["children_reached"] = int(r.pop("named_children")) + int(r.pop("group_children"))
        return rows

    def stock(self, *, fund: str | None = None, season: str | None = None,
              commune: str | None = None, category: str | None = None,
              level: str | None = None) -> list[Row]:
        """Goods in stock per item and unit (projections/stock.py): rows of the fund level
        (per fund and restriction) and of the programme level (per programme and the fund the
        goods came from). `season`, `commune` and `category` name programmes, so they leave the
        fund level out; `fund` applies to both. Rows whose every figure is zero are left out."""
        where, params = ["(g.received_quantity <> 0 OR g.allocated_quantity <> 0"
                         " OR g.distributed_quantity <> 0)"], []
        for clause, value in (("g.fund = ?", fund), ("p.season = ?", season),
                              ("p.commune = ?", commune), ("p.category = ?", category),
                              ("g.level = ?", level)):
            if value:
                where.append(clause)
                params.append(value)
        if season or commune or category:
            where.append("g.level = 'programme'")
        rows = self.db.query(
            "SELECT g.level, g.fund, g.restriction, p.season, p.district, p.commune, p.category,"
            " n.item, n.unit, g.received_quantity, g.allocated_quantity, g.distributed_quantity,"
            " g.value_vnd FROM goods_stock g JOIN goods_names n ON n.goods_key = g.goods_key"
            " LEFT JOIN programme_balances p ON p.programme_id = g.programme_id"
            f" WHERE {' AND '.join(where)}"
            " ORDER BY g.level, g.fund, g.restriction, p.season, p.district, p.commune, p.category,"
            " g.goods_key", params)
        out = []
        for r in rows:
            fund_level = r["level"] == "fund"
            received, allocated, distributed = (int(r["received_quantity"]),
                                                int(r["allocated_quantity"]),
                                                int(r["distributed_quantity"]))
            out.append({
                "level": r["level"], "fund": r["fund"],
                "restriction": r["restriction"] if fund_level else None,
                "season": r["season"], "district": r["district"], "commune": r["commune"],
                "category": r["category"], "item": r["item"], "unit": r["unit"],
                # A programme receives goods by allocation only: what came in is allocated.
                "received_quantity": received if fund_level else None,
                "allocated_quantity": allocated,
                "distributed_quantity": None if fund_level else distributed,
                "in_stock_quantity": received - allocated if fund_level else allocated - distributed,
                "value_vnd": int(r["value_vnd"]),
            })
        return out

    # ---- donors -----------------------------------------------------------------------------

    def donor(self, donor_id: str) -> Row | None:
        donor = self.db.query_one(
            "SELECT donor_id, name, kind, public_name, anonymous FROM donors WHERE donor_id = ?",
            (donor_id,))
        if donor is None:
            return None
        donor["anonymous"] = bool(donor["anonymous"])
        totals = self.db.query_one(
            "SELECT COALESCE(SUM(amount_vnd), 0) AS received_vnd, COUNT(*) AS receipts"
            " FROM public_donations WHERE donor_id = ? AND reversed = 0", (donor_id,))
        pledges = self.db.query(
            "SELECT pledge_id, amount_vnd, received_vnd, due_on, cancelled FROM pledges"
            " WHERE donor_id = ? ORDER BY position", (donor_id,))
        assert totals is not None
        donor["received_vnd"] = int(totals["received_vnd"])
        donor["receipts_count"] = int(totals["receipts"])
        # The same rule as the public summary's total (projections/donations.py): a cancelled
        # pledge counts for what it was paid, and nothing of it is outstanding any more.
        for p in pledges:
            p["outstanding_vnd"] = outstanding_vnd(p["amount_vnd"], p["received_vnd"],
                                                   bool(p["cancelled"]))
        donor["pledged_vnd"] = sum(counted_as_pledged(p["amount_vnd"], p["received_vnd"],
                                                      bool(p["cancelled"])) for p in pledges)
        donor["outstanding_pledges"] = [
            {"pledge_id": p["pledge_id"], "payment_code": payment_code(UUID(p["pledge_id"])),
             "amount_vnd": p["amount_vnd"], "received_vnd": p["received_vnd"],
             "outstanding_vnd": p["outstanding_vnd"], "due_on": p["due_on"]}
            for p in pledges if p["outstanding_vnd"] > 0
        ]
        return donor

    # ---- children -----------------------------------------------------------------------------

    def child(self, child_id: str) -> Row | None:
        return self.db.query_one(
            "SELECT child_id, code, district, commune FROM children WHERE child_id = ?", (child_id,))

    def child_history(self, child_id: str) -> list[Row]:
        lines = self.db.query(
            "SELECT d.distribution_id, d.season, d.commune, d.category, d.distributed_on,"
            " d.reversed, l.line_no, l.item, l.unit, l.quantity, l.value_vnd FROM distribution_lines l"
            " JOIN distributions d ON d.distribution_id = l.distribution_id"
            " WHERE l.child_id = ? ORDER BY d.position", (child_id,))
        for line in lines:
            line["reversed"] = bool(line["reversed"])
            line["paid_by"] = self.db.query(
                "SELECT g.receipt_id, p.reference, g.allocation_id, g.amount_vnd, g.quantity"
                " FROM distribution_draws g JOIN public_donations p ON p.receipt_id = g.receipt_id"
                " WHERE g.distribution_id = ? AND g.line_no = ? ORDER BY g.piece_no",
                (line["distribution_id"], line.pop("line_no")))
        return lines

    # ---- public -------------------------------------------------------------------------------

    def donations(self, *, q: str | None = None, min_vnd: int | None = None,
                  max_vnd: int | None = None, date_from: str | None = None,
                  date_to: str | None = None, cursor: int | None = None,
                  limit: int = 50) -> tuple[list[Row], int | None]:
        """Newest first, paged by log position (a stable cursor). `q` is a receipt reference
        (`PT-…`) or part of a donor's name, with or without diacritics, matched literally.

        A name is first looked up among the distinct names (`public_names`, trigram-indexed on
        PostgreSQL), which also tells how many receipts they have. No name matches: no receipt
        is read. At most FEW_MATCHES receipts: they are fetched by name (the index on
        `donor_folded`) and sorted. More: the position index is walked newest first until the
        page is full, about (all receipts ÷ matches) × page rows, some ten thousand at a million
        receipts. The choice is made here from exact counts, not by the planner from an estimate
        of `LIKE '%…%'` (at a million receipts that estimate sent some rare names on a walk
        through the whole table)."""
        limit = max(1, min(limit, MAX_PAGE))
        where = ["reversed = 0"]
        params: list[Any] = []
        text = (q or "").strip()
        name = fold(text) if text and not text.upper().startswith("PT-") else ""
        if text and not name:
            where.append("reference = ?")
            params.append(text.upper())
        for clause, value in (("amount_vnd >= ?", min_vnd), ("amount_vnd <= ?", max_vnd),
                              ("received_on >= ?", date_from), ("received_on <= ?", date_to),
                              ("position < ?", cursor)):
            if value is not None:
                where.append(clause)
                params.append(value)
        if name:
            names = self.db.query(
                "SELECT folded, receipts FROM public_names WHERE folded LIKE ? ESCAPE '\\'"
                " AND receipts > 0", (f"%{_like_literal(name)}%",))
            if not names:
                return [], None
            if sum(int(n["receipts"]) for n in names) <= FEW_MATCHES:
                matched = [n["folded"] for n in names]
                if self.db.dialect == "postgresql":  # one array parameter, however many names
                    where.append("donor_folded = ANY(?)")
                    params.append(matched)
                else:
                    where.append(f"donor_folded IN ({','.join('?' * len(matched))})")
                    params.extend(matched)
            else:
                where.append("donor_folded LIKE ? ESCAPE '\\'")
                params.append(f"%{_like_literal(name)}%")
        rows = self.db.query(
            f"SELECT reference, {LISTED_DONOR}, fund, channel, amount_vnd, item, quantity,"
            " received_on, restriction, mobilised_by, position FROM public_donations"
            f" WHERE {' AND '.join(where)} ORDER BY position DESC LIMIT ?", [*params, limit + 1])
        next_cursor = rows[limit - 1]["position"] if len(rows) > limit else None
        return rows[:limit], next_cursor

    def donation_by_bank_reference(self, bank_reference: str) -> Row | None:
        """The one receipt recorded with this bank transaction id (exactly as the bank printed
        it, surrounding spaces aside), as the public sees it; None if there is none. Never a
        list: a re-recorded transfer (its first receipt reversed) answers the receipt that
        stands, else the latest. The id is matched in the bank projection's staff table, where
        it already is for reconciliation; no public table holds it, and nothing answers it."""
        wanted = bank_reference.strip()
        if not wanted:
            return None
        row = self.db.query_one(
            f"SELECT p.reference, {CURRENT_NAME.format(t='p.')}, p.fund, p.channel, p.amount_vnd, p.item,"
            " p.quantity, p.received_on, p.restriction, p.mobilised_by, p.reversed"
            " FROM bank_entries e JOIN public_donations p ON p.receipt_id = e.entry_id"
            " WHERE e.bank_txn_id = ? AND e.kind = 'receipt'"
            " ORDER BY p.reversed, p.position DESC LIMIT 1", (wanted,))
        if row is not None:
            row["reversed"] = bool(row["reversed"])
        return row

    def donation(self, reference: str) -> Row | None:
        row = self.db.query_one(
            f"SELECT receipt_id, reference, {LISTED_DONOR}, fund, channel, amount_vnd, item,"
            " quantity, received_on, restriction, mobilised_by, reversed, position"
            " FROM public_donations WHERE reference = ?", (reference.upper(),))
        if row is None:
            return None
        receipt_id = row.pop("receipt_id")
        row["reversed"] = bool(row["reversed"])
        row["allocations"] = self.db.query(
            "SELECT a.season, a.district, a.commune, a.category, g.amount_vnd, g.quantity,"
            " a.decision_ref, a.reversed FROM allocation_draws g"
            " JOIN allocations a ON a.allocation_id = g.allocation_id"
            " WHERE g.receipt_id = ? ORDER BY a.position", (receipt_id,))
        distributions = self.db.query(
            "SELECT d.distribution_id, d.season, d.district, d.commune, d.category,"
            " d.distributed_on, SUM(g.amount_vnd) AS amount_vnd, SUM(g.quantity) AS quantity,"
            " COUNT(DISTINCT l.child_id) AS named, MAX(d.beneficiaries_count) AS grouped"
            " FROM distribution_draws g"
            " JOIN distributions d ON d.distribution_id = g.distribution_id"
            " JOIN distribution_lines l ON l.distribution_id = g.distribution_id"
            "   AND l.line_no = g.line_no"
            " WHERE g.receipt_id = ? AND d.reversed = 0"
            " GROUP BY d.distribution_id, d.season, d.district, d.commune, d.category,"
            " d.distributed_on, d.position ORDER BY d.position", (receipt_id,))
        for d in distributions:
            d.pop("distribution_id")
            d["amount_vnd"] = int(d["amount_vnd"])
            d["quantity"] = int(d["quantity"])
            d["children"] = small(int(d.pop("named")) + int(d.pop("grouped") or 0))
        row["distributions"] = distributions
        return row

    def total(self, figure: str) -> tuple[int, int, int]:
        """(the total as projected, the position its projection has reached, the log's head),
        read together in one statement, so that the three agree."""
        projection, sql = TOTALS_SQL[figure]
        column = "rowid" if self.db.dialect == "sqlite" else "notification_id"
        head = f"SELECT MAX({column}) FROM {self.db.events_table}"
        row = self.db.query_one(
            f"SELECT ({sql}) AS total, (SELECT COALESCE(MAX(position), 0) FROM projection_tracking"
            f" WHERE name = ?) AS position, COALESCE(({head}), 0) AS head", (projection,))
        assert row is not None
        return int(row["total"]), int(row["position"]), int(row["head"])

    def trial_balance(self) -> dict[str, int]:
        """DESIGN §3 invariant 4: received = in funds + in programmes + distributed."""
        funds = self.fund_balances()
        programmes = self.db.query_one(
            "SELECT COALESCE(SUM(allocated_vnd - distributed_vnd - returned_vnd), 0) AS held,"
            " COALESCE(SUM(distributed_vnd), 0) AS distributed FROM programme_balances")
        assert programmes is not None
        return {"received_vnd": sum(int(f["received_vnd"]) for f in funds),
                "in_funds_vnd": sum(int(f["available_vnd"]) + f["goods_value_vnd"] for f in funds),
                "in_programmes_vnd": int(programmes["held"]),
                "distributed_vnd": int(programmes["distributed"])}

    def needs(self, season: str | None = None) -> list[Row]:
        where, params = _filters(season=season, table="n")
        rows = self.db.query(
            "SELECT n.season, n.district, n.commune, n.category, n.children_count, n.estimated_vnd,"
            " COALESCE(p.allocated_vnd - p.returned_vnd, 0) AS allocated_vnd,"
            " COALESCE(p.distributed_vnd, 0) AS distributed_vnd FROM needs n"
            " LEFT JOIN programme_balances p ON p.season = n.season AND p.commune = n.commune"
            f" AND p.category = n.category {where} ORDER BY n.district, n.commune, n.category",
            params)
        for r in rows:
            estimated = r["estimated_vnd"]
            # Not capped: more allocated than estimated is a fact staff and the public must see.
            r["covered_percent"] = round(100 * r["allocated_vnd"] / estimated) if estimated else None
            r["over_allocated"] = bool(estimated) and r["allocated_vnd"] > estimated
        return hide_small(rows)

    def summary(self, season: str | None = None) -> Row:
        """The public overview, from small tables only (no pass over receipts or distributions):
        money received and donors for the season's year (`season[:4]`), or for all years;
        pledged (a cancelled pledge for the part it was paid), in any season; programmes of the
        season, or of all seasons.
        `by_month` is the money received per month, ascending, from the first month with
        receipts to the last, months without any included as 0."""
        year = season[:4] if season else None
        with self.db.read() as cur:  # one snapshot: the figures agree with each other
            received = cur.execute(
                "SELECT month, fund, received_vnd, receipts, goods_vnd FROM public_received"
                + (" WHERE month LIKE ?" if year else ""), [f"{year}-%"] if year else []).fetchall()
            counters = {r["name"]: int(r["value"]) for r in cur.execute(
                "SELECT name, value FROM public_counters WHERE name IN (?, ?)",
                (f"donors:{year or ALL_YEARS}", "pledged_vnd")).fetchall()}
            groups = _programme_groups(cur, season)
            reach = reached(cur, season)
            # Allocations to communes not flagged extremely difficult, by an admin's override.
            overridden = cur.execute(
                "SELECT COUNT(*) AS n, COALESCE(SUM(amount_vnd), 0) AS vnd FROM allocations"
                " WHERE override = 1 AND reversed = 0" + (" AND season = ?" if season else ""),
                [season] if season else []).fetchone()
            assert overridden is not None  # an aggregate always answers one row
        by_fund: dict[str, int] = {}
        by_month: dict[str, list[int]] = {}
        goods = 0
        for r in received:
            if int(r["receipts"]):
                goods += int(r["goods_vnd"])
                by_fund[r["fund"]] = by_fund.get(r["fund"], 0) + int(r["received_vnd"])
                month = by_month.setdefault(r["month"], [0, 0])
                month[0] += int(r["received_vnd"])
                month[1] += int(r["receipts"])

        def total(key: str) -> list[Row]:
            out: dict[str, Row] = {}
            for g in groups:
                # Children are distinct children of the group's own grain, never a sum of
                # smaller grains' (a child reached in two categories is one child of the district).
                grain = (g[key], ALL, ALL) if key == "district" else (ALL, ALL, g[key])
                row = out.setdefault(g[key], {key: g[key], "allocated_vnd": 0, "distributed_vnd": 0,
                                              "children_reached": reach.get(grain, (0, 0))[0]})
                for figure in ("allocated_vnd", "distributed_vnd"):
                    row[figure] += g[figure]
            return sorted(out.values(), key=lambda r: str(r[key]))

        everywhere = reach.get((ALL, ALL, ALL), (0, 0))
        # Counts of persons below 5 leave as "< 5" (domain/small_cells.py).
        return hide_small({
            "season": season,
            "received_vnd": sum(by_fund.values()),
            # Of what was received, goods at their value; the rest came as money.
            "received_goods_vnd": goods,
            "pledged_vnd": counters.get("pledged_vnd", 0),
            "allocated_vnd": sum(g["allocated_vnd"] for g in groups),
            "distributed_vnd": sum(g["distributed_vnd"] for g in groups),
            "children_reached": everywhere[0],
            "donors": counters.get(f"donors:{year or ALL_YEARS}", 0),
            "duplicate_overrides": everywhere[1],
            "override_allocations": int(overridden["n"]),
            "override_allocations_vnd": int(overridden["vnd"]),
            "by_fund": [{"fund": f, "received_vnd": v} for f, v in sorted(by_fund.items())],
            "by_category": total("category"),
            "by_district": total("district"),
            "by_month": [{"month": m, "received_vnd": v, "receipts": n}
                         for m, (v, n) in _every_month(by_month)],
        })


def _programme_groups(cur: Cursor, season: str | None) -> list[Row]:
    """Per district and category of the season's programmes (of all seasons without one):
    allocated (less returned) and distributed from `programme_balances`."""
    where, params = ("WHERE season = ?", [season]) if season else ("", [])
    groups = cur.execute(
        "SELECT district, category, SUM(allocated_vnd - returned_vnd) AS allocated_vnd,"
        f" SUM(distributed_vnd) AS distributed_vnd FROM programme_balances {where}"
        " GROUP BY district, category", params).fetchall()
    return [{"district": g["district"], "category": g["category"],
             "allocated_vnd": int(g["allocated_vnd"]), "distributed_vnd": int(g["distributed_vnd"])}
            for g in groups]


def reached(cur: Cursor, season: str | None, *, district: str | None = None,
            commune: str | None = None) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(district, commune, category) → (children reached, duplicate-support overrides) in the
    season (all seasons without one), at every grain the donations projection keeps ('*' for
    all), limited to a district or a commune if given. Children reached are distinct children
    at that grain plus those counted in groups (docs/public-figures.md): read, never summed."""
    where, params = ["season = ?"], [season or ALL]
    for column, value in (("district", district), ("commune", commune)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    rows = cur.execute(
        "SELECT district, commune, category, named_children + counted_children AS children,"
        f" overrides FROM public_reach WHERE {' AND '.join(where)}", params).fetchall()
    return {(r["district"], r["commune"], r["category"]): (int(r["children"]), int(r["overrides"]))
            for r in rows}


def _like_literal(text: str) -> str:
    """`text` for a LIKE pattern with ESCAPE '\\': its % and _ match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _every_month(months: dict[str, list[int]]) -> Iterator[tuple[str, list[int]]]:
    """`months` ('YYYY-MM' → figures) in order, the months between them that are missing
    filled with zeros, so that a chart's time axis has no holes."""
    if not months:
        return
    first, last = min(months), max(months)
    y, m = int(first[:4]), int(first[5:7])
    while (current := f"{y:04d}-{m:02d}") <= last:
        yield current, months.get(current, [0, 0])
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _filters(*, table: str, **values: str | None) -> tuple[str, list[Any]]:
    clauses = [f"{table}.{k} = ?" for k, v in values.items() if v]
    params = [v for v in values.values() if v]
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params
