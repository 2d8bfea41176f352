"""Reads over the read models, for the API. No money rule is checked here: only reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from domain.matching import payment_code
from domain.text import fold
from projections.db import Database, Row

SMALL_COUNT = 5
MAX_PAGE = 200


def small(n: int) -> int | str:
    """Public counts below 5 for one commune and category are shown as "< 5" (DESIGN §6)."""
    return "< 5" if 0 < n < SMALL_COUNT else n


class Queries:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- the ledger's FIFO candidates -----------------------------------------------------

    def open_receipts(self, fund: str, item: str | None, district: str, commune: str,
                      category: str) -> Iterator[UUID]:
        sql = (
            "SELECT receipt_id FROM receipt_balances WHERE fund = ? AND remaining_vnd > 0"
            " AND reversed = 0 AND " + ("item = ?" if item else "item IS NULL") +
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
        rows = self.db.query(
            "SELECT fund, restriction, received_vnd, allocated_vnd, returned_vnd FROM fund_balances"
            " ORDER BY fund, restriction")
        for r in rows:
            r["available_vnd"] = r["received_vnd"] - r["allocated_vnd"] + r["returned_vnd"]
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
            "   WHERE d.programme_id = p.programme_id AND d.reversed = 0), 0) AS group_children"
            f" FROM programme_balances p {where}"
            " ORDER BY p.season, p.district, p.commune, p.category", params)
        for r in rows:
            r["remaining_vnd"] = r["allocated_vnd"] - r["distributed_vnd"] - r["returned_vnd"]
            r["children_reached"] = int(r.pop("named_children")) + int(r.pop("group_children"))
        return rows

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
        donor["pledged_vnd"] = sum(p["amount_vnd"] for p in pledges if not p["cancelled"])
        donor["outstanding_pledges"] = [
            {"pledge_id": p["pledge_id"], "payment_code": payment_code(UUID(p["pledge_id"])),
             "amount_vnd": p["amount_vnd"],
             "received_vnd": p["received_vnd"], "outstanding_vnd": p["amount_vnd"] - p["received_vnd"],
             "due_on": p["due_on"]}
            for p in pledges if not p["cancelled"] and p["received_vnd"] < p["amount_vnd"]
        ]
        return donor

    # ---- children -----------------------------------------------------------------------------

    def child(self, child_id: str) -> Row | None:
        return self.db.query_one(
            "SELECT child_id, code, district, commune FROM children WHERE child_id = ?", (child_id,))

    def child_history(self, child_id: str) -> list[Row]:
        lines = self.db.query(
            "SELECT d.distribution_id, d.season, d.commune, d.category, d.distributed_on,"
            " d.reversed, l.line_no, l.item, l.quantity, l.value_vnd FROM distribution_lines l"
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
        """Newest first, paged by log position (a stable cursor)."""
        limit = max(1, min(limit, MAX_PAGE))
        where = ["reversed = 0"]
        params: list[Any] = []
        if q:
            text = q.strip()
            if text.upper().startswith("PT-"):
                where.append("reference = ?")
                params.append(text.upper())
            else:
                where.append("donor_folded LIKE ?")
                params.append(f"%{fold(text)}%")
        for clause, value in (("amount_vnd >= ?", min_vnd), ("amount_vnd <= ?", max_vnd),
                              ("received_on >= ?", date_from), ("received_on <= ?", date_to),
                              ("position < ?", cursor)):
            if value is not None:
                where.append(clause)
                params.append(value)
        rows = self.db.query(
            "SELECT reference, donor_display AS donor, fund, channel, amount_vnd, item, quantity,"
            " received_on, restriction, mobilised_by, position FROM public_donations"
            f" WHERE {' AND '.join(where)} ORDER BY position DESC LIMIT ?", [*params, limit + 1])
        next_cursor = rows[limit - 1]["position"] if len(rows) > limit else None
        return rows[:limit], next_cursor

    def donation(self, reference: str) -> Row | None:
        row = self.db.query_one(
            "SELECT receipt_id, reference, donor_display AS donor, fund, channel, amount_vnd, item,"
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

    def trial_balance(self) -> dict[str, int]:
        """DESIGN §3 invariant 4: received = in funds + in programmes + distributed."""
        funds = self.fund_balances()
        programmes = self.db.query_one(
            "SELECT COALESCE(SUM(allocated_vnd - distributed_vnd - returned_vnd), 0) AS held,"
            " COALESCE(SUM(distributed_vnd), 0) AS distributed FROM programme_balances")
        assert programmes is not None
        return {"received_vnd": sum(int(f["received_vnd"]) for f in funds),
                "in_funds_vnd": sum(int(f["available_vnd"]) for f in funds),
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
            r["children_count"] = small(int(r["children_count"]))
            estimated = r["estimated_vnd"]
            covered = round(100 * r["allocated_vnd"] / estimated) if estimated else None
            r["covered_percent"] = min(100, covered) if covered is not None else None
        return rows

    def summary(self, season: str | None = None) -> Row:
        year = season[:4] if season else None
        receipts_where = "WHERE reversed = 0" + (" AND received_on LIKE ?" if year else "")
        rparams = [f"{year}%"] if year else []
        received = self.db.query_one(
            "SELECT COALESCE(SUM(amount_vnd), 0) AS v, COUNT(DISTINCT donor_id) AS donors"
            f" FROM public_donations {receipts_where}", rparams)
        pledged = self.db.query_one(
            "SELECT COALESCE(SUM(amount_vnd), 0) AS v FROM pledges WHERE cancelled = 0")
        by_fund = self.db.query(
            f"SELECT fund, SUM(amount_vnd) AS received_vnd FROM public_donations {receipts_where}"
            " GROUP BY fund ORDER BY fund", rparams)
        programmes = self.programme_balances(season=season)
        assert received is not None and pledged is not None
        allocated = sum(p["allocated_vnd"] - p["returned_vnd"] for p in programmes)
        distributed = sum(p["distributed_vnd"] for p in programmes)

        def group(key: str) -> list[Row]:
            out: dict[str, Row] = {}
            for p in programmes:
                g = out.setdefault(p[key], {key: p[key], "allocated_vnd": 0, "distributed_vnd": 0,
                                            "children_reached": 0})
                g["allocated_vnd"] += p["allocated_vnd"] - p["returned_vnd"]
                g["distributed_vnd"] += p["distributed_vnd"]
                g["children_reached"] += p["children_reached"]
            return sorted(out.values(), key=lambda r: str(r[key]))

        overrides = self.db.query_one(
            "SELECT COALESCE(SUM(overrides), 0) AS n FROM distributions WHERE reversed = 0"
            + (" AND season = ?" if season else ""), [season] if season else [])
        assert overrides is not None
        return {
            "season": season,
            "received_vnd": int(received["v"]),
            "pledged_vnd": int(pledged["v"]),
            "allocated_vnd": allocated,
            "distributed_vnd": distributed,
            "children_reached": sum(p["children_reached"] for p in programmes),
            "donors": int(received["donors"]),
            "duplicate_overrides": int(overrides["n"]),
            "by_fund": [{"fund": r["fund"], "received_vnd": int(r["received_vnd"])} for r in by_fund],
            "by_category": group("category"),
            "by_district": group("district"),
        }


def _filters(*, table: str, **values: str | None) -> tuple[str, list[Any]]:
    clauses = [f"{table}.{k} = ?" for k, v in values.items() if v]
    params = [v for v in values.values() if v]
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params
