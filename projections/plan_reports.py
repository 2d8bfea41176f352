"""The figures of the plan's reports (ledger/plan_reports.py lays them out): the report to the
Department of Labour, Invalids and Social Affairs, the donor recognition list, the pledges
outstanding. Read over the read models; standing records only (a reversed receipt, allocation or
distribution counts nowhere)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from projections.db import Database

# The organisation a receipt's `mobilised_by` names: its code, or None for a gift that came in
# without a partner; a free text recorded before partners were reference data is read as the
# partner it names, else kept as it is.
PartnerOf = Callable[[str | None], str | None]


def _dates(by: str) -> tuple[str, str]:
    """The columns that date receipts and distributions: by business date (when the gift was
    received, the support given) or by the day each was recorded (`by="recorded"`)."""
    return ("received_on", "distributed_on") if by == "business" else ("recorded_on", "recorded_on")


def mobilisation(db: Database, *, date_from: str, date_to: str, seasons: list[str],
                 partner_of: PartnerOf, by: str = "business") -> dict[str, Any]:
    """Receipts and distributions dated in [date_from, date_to]; by business date, the
    allocations of the seasons given (those whose dates meet the period: an allocation has no
    business date of its own, it belongs to its season), by recording date those recorded in the
    period. Either way the entries as they stand now (a reversed one counts nowhere)."""
    received_on, distributed_on = _dates(by)
    received = db.query(
        "SELECT mobilised_by, fund, channel, COUNT(*) AS receipts, SUM(amount_vnd) AS vnd"
        f" FROM public_donations WHERE reversed = 0 AND {received_on} BETWEEN ? AND ?"
        " GROUP BY mobilised_by, fund, channel", (date_from, date_to))
    partners: dict[str | None, dict[str, Any]] = {}
    for row in received:
        code = partner_of(row["mobilised_by"])
        entry = partners.setdefault(code, {"partner": code, "received_vnd": 0, "cash_vnd": 0,
                                           "goods_vnd": 0, "receipts": 0, "by_fund": {}})
        vnd = int(row["vnd"])
        entry["received_vnd"] += vnd
        entry["goods_vnd" if row["channel"] == "in_kind" else "cash_vnd"] += vnd
        entry["receipts"] += int(row["receipts"])
        entry["by_fund"][row["fund"]] = entry["by_fund"].get(row["fund"], 0) + vnd
    by_fund: dict[str, dict[str, Any]] = {}
    for row in received:
        fund = by_fund.setdefault(row["fund"], {"fund": row["fund"], "received_vnd": 0,
                                                "cash_vnd": 0, "goods_vnd": 0})
        fund["received_vnd"] += int(row["vnd"])
        fund["goods_vnd" if row["channel"] == "in_kind" else "cash_vnd"] += int(row["vnd"])

    which, params = ((f"season IN ({', '.join('?' * len(seasons))})", seasons) if by == "business"
                     else ("recorded_on BETWEEN ? AND ?", [date_from, date_to]))
    allocated = db.query(
        "SELECT category, district, SUM(amount_vnd) AS vnd, COUNT(*) AS allocations"
        f" FROM allocations WHERE reversed = 0 AND {which}"
        " GROUP BY category, district ORDER BY category, district", params) if params else []
    distributed = db.query(
        "SELECT category, district, SUM(total_vnd) AS vnd, COUNT(*) AS distributions"
        f" FROM distributions WHERE reversed = 0 AND {distributed_on} BETWEEN ? AND ?"
        " GROUP BY category, district ORDER BY category, district", (date_from, date_to))
    named = db.query(
        "SELECT d.category, d.district, COUNT(DISTINCT l.child_id) AS children"
        " FROM distribution_lines l JOIN distributions d ON d.distribution_id = l.distribution_id"
        f" WHERE d.reversed = 0 AND d.{distributed_on} BETWEEN ? AND ? AND l.child_id IS NOT NULL"
        " GROUP BY d.category, d.district", (date_from, date_to))
    # A distribution to children counted, not named (a commune's list of 40): its count.
    counted = db.query(
        "SELECT category, district, SUM(beneficiaries_count) AS children FROM distributions"
        f" WHERE reversed = 0 AND named_children = 0 AND {distributed_on} BETWEEN ? AND ?"
        " GROUP BY category, district", (date_from, date_to))
    distinct_named = db.query_one(
        "SELECT COUNT(DISTINCT l.child_id) AS n FROM distribution_lines l"
        " JOIN distributions d ON d.distribution_id = l.distribution_id"
        f" WHERE d.reversed = 0 AND d.{distributed_on} BETWEEN ? AND ? AND l.child_id IS NOT NULL",
        (date_from, date_to))
    children: dict[tuple[str, str], dict[str, Any]] = {}
    for rows, key in ((named, "named_children"), (counted, "counted_children")):
        for row in rows:
            cell = children.setdefault((row["category"], row["district"]), {
                "category": row["category"], "district": row["district"],
                "named_children": 0, "counted_children": 0})
            cell[key] = int(row["children"] or 0)
    total_counted = sum(c["counted_children"] for c in children.values())
    return {
        "from": date_from, "to": date_to, "by": by, "seasons": seasons if by == "business" else [],
        "total_received_vnd": sum(p["received_vnd"] for p in partners.values()),
        "cash_received_vnd": sum(p["cash_vnd"] for p in partners.values()),
        "goods_received_vnd": sum(p["goods_vnd"] for p in partners.values()),
        "by_partner": sorted(partners.values(), key=lambda p: (p["partner"] is None,
                                                                -p["received_vnd"], p["partner"] or "")),
        "by_fund": sorted(by_fund.values(), key=lambda f: str(f["fund"])),
        "allocated": [{"category": r["category"], "district": r["district"],
                       "allocated_vnd": int(r["vnd"]), "allocations": int(r["allocations"])}
                      for r in allocated],
        "distributed": [{"category": r["category"], "district": r["district"],
                         "distributed_vnd": int(r["vnd"]), "distributions": int(r["distributions"])}
                        for r in distributed],
        "children": sorted(children.values(), key=lambda c: (c["category"], c["district"])),
        # Distinct named children in the period, and the children counted on lists (who can't
        # be told apart: a child on two lists counts twice there).
        "children_supported": int(distinct_named["n"] if distinct_named else 0) + total_counted,
    }


def recognition(db: Database, *, date_from: str, date_to: str,
                by: str = "business") -> list[dict[str, Any]]:
    """Every donor who gave in the period (standing receipts, by business or recording date),
    with what they gave in money and in goods, most first; an anonymous donor is marked, to be
    left unnamed."""
    received_on, _ = _dates(by)
    rows = db.query(
        "SELECT p.donor_id, d.display_name, d.anonymous, d.kind, COUNT(*) AS receipts,"
        " SUM(CASE WHEN p.channel = 'in_kind' THEN 0 ELSE p.amount_vnd END) AS cash_vnd,"
        " SUM(CASE WHEN p.channel = 'in_kind' THEN p.amount_vnd ELSE 0 END) AS goods_vnd"
        " FROM public_donations p JOIN donors d ON d.donor_id = p.donor_id"
        f" WHERE p.reversed = 0 AND p.{received_on} BETWEEN ? AND ?"
        " GROUP BY p.donor_id, d.display_name, d.anonymous, d.kind", (date_from, date_to))
    found = [{"donor_id": r["donor_id"], "name": r["display_name"], "anonymous": bool(r["anonymous"]),
              "kind": r["kind"], "receipts": int(r["receipts"]), "cash_vnd": int(r["cash_vnd"]),
              "goods_vnd": int(r["goods_vnd"]),
              "given_vnd": int(r["cash_vnd"]) + int(r["goods_vnd"])} for r in rows]
    return sorted(found, key=lambda x: (-x["given_vnd"], x["name"], x["donor_id"]))


def outstanding_pledges(db: Database, *, as_of: str, by: str = "business") -> list[dict[str, Any]]:
    """Pledges not cancelled and not paid in full on `as_of` (receipts counted by their business
    date, or the day they were recorded, up to that day), with the days each is overdue (0 when
    not yet due), most overdue first."""
    received_on, _ = _dates(by)
    rows = db.query(
        "SELECT g.pledge_id, g.donor_id, d.display_name, d.anonymous, g.amount_vnd, g.due_on,"
        " (SELECT COALESCE(SUM(p.amount_vnd), 0) FROM public_donations p"
        f"  WHERE p.pledge_id = g.pledge_id AND p.reversed = 0 AND p.{received_on} <= ?) AS paid_vnd"
        " FROM pledges g JOIN donors d ON d.donor_id = g.donor_id WHERE g.cancelled = 0",
        (as_of,))
    found = []
    for r in rows:
        left = int(r["amount_vnd"]) - int(r["paid_vnd"])
        if left <= 0:
            continue
        overdue = (date.fromisoformat(as_of) - date.fromisoformat(r["due_on"])).days if r["due_on"] else 0
        found.append({"pledge_id": r["pledge_id"], "donor_id": r["donor_id"],
                      "donor": r["display_name"], "anonymous": bool(r["anonymous"]),
                      "pledged_vnd": int(r["amount_vnd"]), "paid_vnd": int(r["paid_vnd"]),
                      "outstanding_vnd": left, "due_on": r["due_on"],
                      "days_overdue": max(overdue, 0), "overdue": overdue > 0})
    return sorted(found, key=lambda x: (-x["days_overdue"], -x["outstanding_vnd"], x["pledge_id"]))
