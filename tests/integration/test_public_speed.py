"""The public summary from small totals, and the donor-name search (issue 5, its performance part),
on a real SQLite file and a real PostgreSQL.

- The summary equals the same figures computed the way they were before the totals existed: a
  pass over every receipt, pledge and programme. Checked for every season on the demo ledger plus
  receipts in other years, reversals (in the receipt's batch and later) and cancelled pledges.
- The totals are rebuilt identically from position 0 in batches of any size, and a database
  projected before the totals existed gets the same rows from migration 0004's backfill.
- Search: names with or without diacritics, LIKE's wildcards taken literally, anonymous donors not
  findable by name, reference search, amount and date ranges, and newest-first cursor paging that
  visits every match exactly once. On PostgreSQL the trigram index can serve the search as
  `Queries.donations` writes it, and so can the position index.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from yoyo.migrations import read_sql_migration

import migrations
from domain.meta import Context
from domain.small_cells import hide_small
from domain.text import fold
from ledger.bootstrap import CompositionRoot
from ledger.demo import load_demo
from projections import queries
from projections.db import Database
from projections.donations import Donations
from projections.runner import Runner
from tests.conftest import fresh_pg_url, make_services

TOTALS = tuple(t for t in Donations.tables if t.startswith("public_") and t != "public_donations")
CTX = Context(actor="test", role="finance", request_id="public-speed")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[CompositionRoot]:
    """One ledger per backend for the whole module (the demo takes a few seconds to load): the
    demo, plus receipts in 2020 and 2022, reversals and a cancelled pledge. The tests below
    leave it as they found it."""
    tmp = tmp_path_factory.mktemp(request.param)
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp / 'ledger.db'}" if request.param == "sqlite"
               else stack.enter_context(fresh_pg_url()))
        svc = make_services(url, tmp / "data")
        stack.callback(svc.close)
        load_demo(svc.ledger)
        add_other_years(svc)
        yield svc


def add_other_years(services: CompositionRoot) -> None:
    ledger = services.ledger
    request = iter(range(1_000_000))

    def donor(name: str, **extra: Any) -> UUID:
        return UUID(ledger.register_donor(CTX, f"d{next(request)}", name=name, kind="individual",
                                          **extra)["id"])

    def receipt(donor_id: UUID, on: str, amount_vnd: int, fund: str = "campaign") -> UUID:
        return UUID(ledger.record_receipt(CTX, f"r{next(request)}", donor_id=donor_id, fund=fund,
                                          received_on=on, channel="cash",
                                          amount_vnd=amount_vnd)["id"])

    def reverse(target: UUID) -> None:
        ledger.reverse(CTX, f"x{next(request)}", target_id=target, reason="nhầm")

    services.runner.catch_up()
    nhung = donor("Đặng Thị Hồng Nhung")
    hidden = donor("Lăng Văn Kín", anonymous=True)
    odd = donor("Công ty 100% Vốn_Việt")
    only_2020 = donor("Vi Văn Một")
    receipt(nhung, "2020-12-30", 1_000_000)
    once = receipt(only_2020, "2020-11-02", 2_000_000, fund="state-budget")
    receipt(hidden, "2022-01-05", 3_000_000)
    receipt(odd, "2022-01-06", 4_000_000, fund="fund-for-the-poor")
    late = receipt(nhung, "2022-03-01", 5_000_000)
    soon = receipt(odd, "2022-03-02", 6_000_000)
    reverse(soon)  # projected in the same batch as its receipt
    pledge = UUID(ledger.make_pledge(CTX, f"p{next(request)}", donor_id=nhung,
                                     amount_vnd=7_000_000)["id"])
    services.runner.catch_up()
    reverse(once)  # a later batch: Vi Văn Một no longer counts for 2020
    reverse(late)
    reverse(pledge)  # a pledge made in an earlier batch, cancelled
    services.runner.catch_up()


# ---- the summary ------------------------------------------------------------------------------

def scanned_summary(services: CompositionRoot, season: str | None) -> dict[str, Any]:
    """The summary as it was computed before the totals: passes over every row."""
    db = services.db
    year = season[:4] if season else None
    where = "WHERE reversed = 0" + (" AND received_on LIKE ?" if year else "")
    params = [f"{year}%"] if year else []
    # Donors as the public can count them: a public name once, each anonymous gift once.
    received = db.query_one("SELECT COALESCE(SUM(amount_vnd), 0) AS v,"
                            " COALESCE(SUM(CASE WHEN item IS NOT NULL THEN amount_vnd END), 0) AS goods,"
                            " COUNT(DISTINCT CASE"
                            " WHEN donor_display = 'Ẩn danh' THEN 'gift:' || reference"
                            " ELSE 'name:' || donor_display END) AS donors"
                            f" FROM public_donations {where}", params)
    pledged = db.query_one("SELECT COALESCE(SUM(amount_vnd), 0) AS v FROM pledges WHERE cancelled = 0")
    by_fund = db.query(f"SELECT fund, SUM(amount_vnd) AS v FROM public_donations {where}"
                       " GROUP BY fund ORDER BY fund", params)
    by_month = db.query(f"SELECT substr(received_on, 1, 7) AS m, SUM(amount_vnd) AS v, COUNT(*) AS n"
                        f" FROM public_donations {where} GROUP BY substr(received_on, 1, 7)"
                        " ORDER BY m", params)
    programmes = services.queries.programme_balances(season=season)
    live = ("WHERE d.reversed = 0" + (" AND d.season = ?" if season else ""), [season] if season else [])

    def reached(key: str | None) -> dict[str | None, int]:
        """Distinct children named, plus those counted in distributions naming none, per `key`
        (one group over everything without one)."""
        group = f"d.{key}" if key else "NULL"
        by = f" GROUP BY {group}" if key else ""
        named = db.query(f"SELECT {group} AS k, COUNT(DISTINCT l.child_id) AS n FROM distributions d"
                         " JOIN distribution_lines l ON l.distribution_id = d.distribution_id"
                         f" {live[0]} AND l.child_id IS NOT NULL{by}", live[1])
        counted = db.query(f"SELECT {group} AS k, COALESCE(SUM(d.beneficiaries_count), 0) AS n"
                           " FROM distributions d"
                           f" {live[0]} AND NOT EXISTS (SELECT 1 FROM distribution_lines l WHERE"
                           " l.distribution_id = d.distribution_id AND l.child_id IS NOT NULL)"
                           f"{by}", live[1])
        out: dict[str | None, int] = {}
        for r in (*named, *counted):
            out[r["k"]] = out.get(r["k"], 0) + int(r["n"])
        return out

    overrides = db.query_one("SELECT COALESCE(SUM(overrides), 0) AS n FROM distributions"
                             " WHERE reversed = 0" + (" AND season = ?" if season else ""),
                             [season] if season else [])
    overridden = db.query_one("SELECT COUNT(*) AS n, COALESCE(SUM(amount_vnd), 0) AS vnd FROM allocations"
                              " WHERE override = 1 AND reversed = 0" + (" AND season = ?" if season else ""),
                              [season] if season else [])
    assert received is not None and pledged is not None and overrides is not None
    assert overridden is not None

    def group(key: str) -> list[dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for p in programmes:
            g = out.setdefault(p[key], {key: p[key], "allocated_vnd": 0, "distributed_vnd": 0,
                                        "children_reached": reached(key).get(p[key], 0)})
            g["allocated_vnd"] += p["allocated_vnd"] - p["returned_vnd"]
            g["distributed_vnd"] += p["distributed_vnd"]
        return sorted(out.values(), key=lambda r: str(r[key]))

    return hide_small({
        "season": season,
        "received_vnd": int(received["v"]),
        "received_goods_vnd": int(received["goods"]),
        "pledged_vnd": int(pledged["v"]),
        "allocated_vnd": sum(p["allocated_vnd"] - p["returned_vnd"] for p in programmes),
        "distributed_vnd": sum(p["distributed_vnd"] for p in programmes),
        "children_reached": reached(None).get(None, 0),
        "donors": int(received["donors"]),
        "duplicate_overrides": int(overrides["n"]),
        "override_allocations": int(overridden["n"]),
        "override_allocations_vnd": int(overridden["vnd"]),
        "by_fund": [{"fund": r["fund"], "received_vnd": int(r["v"])} for r in by_fund],
        "by_category": group("category"),
        "by_district": group("district"),
        "by_month": [(r["m"], int(r["v"]), int(r["n"])) for r in by_month],
    })


def test_summary_from_totals_equals_a_pass_over_every_row(services: CompositionRoot) -> None:
    for season in (None, "2021", "2020", "2022", "2019", "2021-tet"):
        summary = services.queries.summary(season)
        expected = scanned_summary(services, season)
        months = expected.pop("by_month")
        shown = summary.pop("by_month")
        assert summary == expected, season
        # Every month from the first with receipts to the last, those without shown as 0.
        assert [m for m in shown if m["receipts"]] == [
            {"month": m, "received_vnd": v, "receipts": n} for m, v, n in months]
        assert [m["month"] for m in shown] == sorted({m["month"] for m in shown})
        if shown:
            first, last = shown[0]["month"], shown[-1]["month"]
            span = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
            assert len(shown) == span
    everything = services.queries.summary()
    assert everything["by_month"][0]["month"] == "2020-12"  # 2020-11: its only receipt reversed
    assert everything["by_month"][-1]["month"] == "2022-01"  # 2022-03: both receipts reversed
    # The demo has nothing in January 2021: a hole filled with 0 between December and February.
    assert everything["by_month"][1] == {"month": "2021-01", "received_vnd": 0, "receipts": 0}
    # Vi Văn Một's only receipt reversed: one donor in 2020, published as a small count.
    assert services.db.query_one("SELECT value FROM public_counters WHERE name = 'donors:2020'") == {
        "value": 1}
    assert services.queries.summary("2020")["donors"] == "< 5"
    assert services.queries.summary("2022")["received_vnd"] == 7_000_000
    assert services.queries.summary("2021")["donors"] > 150


def dump(db: Database, tables: tuple[str, ...]) -> dict[str, list[str]]:
    return {t: sorted(json.dumps(r, sort_keys=True, default=str) for r in db.query(f"SELECT * FROM {t}"))
            for t in tables}


def test_totals_rebuild_identically_and_migration_0007_reprojects_them(services: CompositionRoot) -> None:
    live = dump(services.db, Donations.tables)
    assert all(live[t] for t in TOTALS)
    for batch_size in (7, 1000):
        Runner(services.db, services.ledger, [Donations()], batch_size=batch_size).rebuild()
        assert dump(services.db, Donations.tables) == live, batch_size

    # A database projected by an earlier version: migration 0007 empties the donations
    # projection and its position (names are folded by code, not SQL), and the runner projects
    # it again, to the same rows.
    version = migrations.VERSIONS / "0007.public-search.sql"
    _, _, statements = read_sql_migration(str(version))
    code = ["\n".join(line for line in s.splitlines() if not line.lstrip().startswith("--")).strip()
            for s in statements]
    reset = [s for s in code if s.upper().startswith("DELETE")]
    assert {s.split()[2].rstrip(";") for s in reset} == {*Donations.tables, "projection_tracking"} - {
        "public_distributions", "public_reach_children", "public_reach"}  # made anew by 0007
    with services.db.write() as cur:
        for table in Donations.tables:
            cur.execute(f"DELETE FROM {table}")  # what 0007 drops and makes anew is empty too
        for statement in reset:
            cur.execute(statement)
    assert services.runner.positions()["donations"] == 0
    services.runner.catch_up()
    assert dump(services.db, Donations.tables) == live


INDEXES = {"sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
           "postgresql": "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'"}


def test_migrations_stop_where_asked_and_only_for_their_backend(database_url: str,
                                                                tmp_path: Path) -> None:
    db = Database(database_url)
    try:
        uri = db.url.yoyo_uri()
        assert migrations.apply(uri, until="0003.bank") == 3
        indexes = INDEXES[db.dialect]
        assert "public_donations_position" not in {r["name"] for r in db.query(indexes)}
        # 0004 is in two parts on PostgreSQL (one for its backend only), one on SQLite; then
        # the later migrations, the same on both.
        assert migrations.apply(uri, until="0004.public-speed.postgresql") == (
            2 if db.dialect == "postgresql" else 1)
        assert migrations.apply(uri) >= 1
        assert migrations.apply(uri) == 0
        names = {r["name"] for r in db.query(indexes)}
        assert {"public_donations_position", "public_donations_folded"} <= names
        assert ("public_names_trgm" in names) == (db.dialect == "postgresql")
    finally:
        db.close()


# ---- the search -------------------------------------------------------------------------------

def every_page(services: CompositionRoot, limit: int, **search: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, cursor = services.queries.donations(**search, cursor=cursor, limit=limit)
        rows += page
        if cursor is None:
            return rows


def test_search_by_name_reference_and_ranges(services: CompositionRoot) -> None:
    search = services.queries.donations
    found, _ = search(q="dang thi hong nhung")
    assert [r["donor"] for r in found] == ["Đặng Thị Hồng Nhung"]  # the other one was reversed
    assert search(q="  ĐẶNG Thị Hồng  ")[0] == found
    # LIKE's wildcards are ordinary characters in a search.
    assert {r["donor"] for r in search(q="100% vốn_")[0]} == {"Công ty 100% Vốn_Việt"}
    assert {r["donor"] for r in search(q="_")[0]} == {"Công ty 100% Vốn_Việt"}
    assert {r["donor"] for r in search(q="%")[0]} == {"Công ty 100% Vốn_Việt"}
    assert search(q="\\")[0] == []
    # An anonymous donor's name finds nothing; the gift is listed as "Ẩn danh".
    assert search(q="lang van kin")[0] == []
    [hidden] = [r for r in search(date_from="2022-01-05", date_to="2022-01-05")[0]]
    assert hidden["donor"] == "Ẩn danh"
    # Reference, and amount and date ranges.
    [one] = search(q=hidden["reference"].lower())[0]
    assert one["reference"] == hidden["reference"]
    ranged = every_page(services, 50, min_vnd=1_000_000, max_vnd=4_000_000, date_from="2020-01-01",
                        date_to="2022-12-31")
    assert ranged and all(1_000_000 <= r["amount_vnd"] <= 4_000_000 for r in ranged)
    assert all("2020-01-01" <= r["received_on"] <= "2022-12-31" for r in ranged)


@pytest.mark.parametrize("few", [0, 150, 10**9], ids=["walk", "either", "by-name"])
@pytest.mark.parametrize("q", ["nguyen", "Thị", "an", "cong ty", "zzz-nobody"])
def test_paging_newest_first_visits_every_match_once(services: CompositionRoot, q: str, few: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the receipts are fetched by name or found by walking newest first."""
    monkeypatch.setattr(queries, "FEW_MATCHES", few)
    expected = [r["reference"] for r in services.db.query(
        "SELECT reference FROM public_donations WHERE reversed = 0 AND donor_folded LIKE ?"
        " ORDER BY position DESC", (f"%{fold(q)}%",))]
    paged = every_page(services, 37, q=q)
    assert [r["reference"] for r in paged] == expected
    positions = [r["position"] for r in paged]
    assert positions == sorted(positions, reverse=True)
    if q == "zzz-nobody":
        assert paged == []
    else:
        assert len(expected) > 37  # more than one page
    both = every_page(services, 50, q=q, min_vnd=2_000_000, date_to="2021-10-31")
    assert [r["reference"] for r in both] == [r["reference"] for r in paged
                                              if r["amount_vnd"] >= 2_000_000
                                              and r["received_on"] <= "2021-10-31"]


def recorded(services: CompositionRoot, **search: Any) -> list[tuple[str, list[Any]]]:
    """The statements `Queries.donations(**search)` runs, with their parameters."""
    seen: list[tuple[str, list[Any]]] = []
    real_query = services.db.query

    def recording(sql: str, params: Any = ()) -> list[dict[str, Any]]:
        seen.append((sql, list(params)))
        return real_query(sql, params)

    services.db.query = recording  # type: ignore[method-assign]
    try:
        services.queries.donations(**search)
    finally:
        del services.db.query
    return seen


def test_a_name_nobody_has_reads_no_receipt(services: CompositionRoot) -> None:
    [(sql, _)] = recorded(services, q="zzz-nobody")
    assert "FROM public_names" in sql


@pytest.mark.parametrize("services", ["postgresql"], indirect=True)  # SQLite has no trigram index
def test_postgresql_has_an_index_for_each_step(services: CompositionRoot,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The names matching (trigram index on public_names), their few receipts (index on
    donor_folded), or a common name's newest receipts (the position index, walked backwards). The
    planner is steered to each index here, to show that the statements as `Queries.donations`
    writes them can use it; on a million rows it picks them by itself (bench/public_site.py)."""
    [names, by_name] = recorded(services, q="Nguyễn Văn")
    monkeypatch.setattr(queries, "FEW_MATCHES", 0)
    [_, walk] = recorded(services, q="Nguyễn Văn")
    for (sql, params), off, index in (
            (names, ("enable_seqscan", "enable_indexscan"), "public_names_trgm"),
            (by_name, ("enable_seqscan", "enable_indexscan"), "public_donations_folded"),
            (walk, ("enable_seqscan", "enable_bitmapscan"), "public_donations_position")):
        with services.db.read() as cur:
            for setting in off:
                cur.execute(f"SET LOCAL {setting} = off")
            plan = "\n".join(r["QUERY PLAN"] for r in cur.execute("EXPLAIN " + sql, params).fetchall())
        assert index in plan, plan
