"""Figure (f): the public site over HTTP with 1,000,000 receipts in PostgreSQL (quick: 100,000):
p99 latency of the overview's summary, uncached and cached, and of a donor-name search, 8 clients.

The figure measures the public read path, not the ledger: generating a million receipts through
the ledger would take about an hour (figure (a) records a few hundred per second), so the read-model
tables are filled directly with COPY, with rows shaped as the projections write them and like the
demo's (`ledger.demo`): Vietnamese donor names from the demo's lists (individuals sharing names as
real people do, businesses, organisations, funds, agencies; 15% of individuals and 10% of businesses
anonymous, shown as "Ẩn danh" and not searchable), a donor giving between once and thousands of
times, the four funds, dates across 2021 weighted by month as in the demo, 60% bank transfers, 30%
cash, 10% goods, 20% earmarked, 0.2% reversed, a pledge for every 50 receipts (1% cancelled); and
3,000 programmes of season 2021 (600 communes in the 11 districts × 5 categories: more communes
than Lạng Sơn has, for headroom), with 3 distributions each naming 8 children (from a pool of
40,000) and counting a group, 0.5% of them reversed. Positions increase with the dates, with gaps
where the log holds other events.

The order is an upgrade's: the schema as it was before this figure's migration (`migrations.apply(
until="0003.bank")`), the rows by COPY, then `ledger.bootstrap.build` (the event tables, and
migration 0004, which fills the summary's totals and the distinct names from the rows and builds
the indexes), then `VACUUM ANALYZE`, as autovacuum would have done to tables that size. The log
then shows, for every name searched, the statements `Queries.donations` ran and the indexes
PostgreSQL used for them (EXPLAIN ANALYZE).

The server is the real one, `minhbach serve` in a subprocess (as in (a) and (d)), with
MINHBACH_RUN_PROJECTIONS=false (the event log is empty). 8 client threads, each with its own
keep-alive `httpx.Client`, send requests as fast as the answers come back:

- `GET /healthz` (one small SELECT), before and after the rest: the baseline, the lower p99 counts;
- the summary **uncached**: `GET /api/v1/public/summary?_=N` with a distinct, otherwise unused
  query parameter N per request and the header `Cache-Control: no-cache`, so that neither a
  cache keyed by URL nor one that honours the request header can answer: every request computes
  the summary (for all seasons, the overview's default);
- the summary **cached**: the same URL again and again. When the endpoint gives an ETag, each
  request revalidates it with `If-None-Match` (answers 304); without one, this is the plain
  repeated request, and the log says which was measured. (An ETag made by hashing the answer,
  as `api/web_headers.py` does, saves the transfer, not the work: the summary is still computed.)
- `GET /api/v1/public/donations?q=NAME`, NAME without diacritics, over a spread of names: full
  names of donors (most requests: "did X really give?"), surnames (`nguyen`, `le`, 2 letters,
  no trigram), given names, a middle and given name, business and organisation names, and
  names nobody has.

Every answer must be 200 (or 304 when revalidating), or the run fails. Targets (issue 5): summary
p99 ≤ 300 ms uncached and ≤ 50 ms cached, search p99 ≤ 200 ms. Each figure's baseline is the
p99 of `/healthz`; p50 and requests/s of every measurement are in the log.
"""

from __future__ import annotations

import io
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

import migrations
from bench.clients import describe, get_many, p99
from bench.cpu import CpuMeter
from bench.figures import Figure
from bench.http_receipts import REQUEST_TIMEOUT_S, Timed, running_server
from domain import money
from domain.leaf import receipt_reference
from domain.text import fold
from ledger import demo
from ledger.bootstrap import build, load_areas
from ledger.settings import Settings
from projections.db import DatabaseUrl
from projections.donations import ANONYMOUS
from projections.queries import Queries

API = "/api/v1"
TARGET_SUMMARY_UNCACHED_P99_MS = 300.0
TARGET_SUMMARY_CACHED_P99_MS = 50.0
TARGET_SEARCH_P99_MS = 200.0
WARM_UP_PER_CLIENT = 20
COPY_CHUNK = 20_000
SEED = 2021

RECEIPTS_PER_DONOR = 5
RECEIPTS_PER_PLEDGE = 50
COMMUNES = 600
DISTRIBUTIONS_PER_PROGRAMME = 3
NAMED_PER_DISTRIBUTION = 8
CHILDREN = 40_000
SEASON = "2021"
FUNDS = tuple(money.FUNDS)
CATEGORIES = tuple(money.CATEGORIES)
MONTH_WEIGHTS = {1: 2, **demo.MONTH_WEIGHTS}
GOODS = (demo.COAT, demo.MILK)

Say = Callable[[str], None]


def measure(db_url: str, work_dir: Path, *, receipts: int, clients: int, requests: int,
            say: Say) -> list[Figure]:
    t0 = time.perf_counter()
    migrations.apply(DatabaseUrl(db_url).yoyo_uri(), until="0003.bank")
    rng = random.Random(SEED)
    donors = make_donors(rng, max(receipts // RECEIPTS_PER_DONOR, 100))
    counts = load_rows(db_url, rng, donors, receipts)
    loaded = time.perf_counter()
    say(f"(f) {', '.join(f'{n:,} {t}' for t, n in counts.items())} written with COPY in"
        f" {loaded - t0:.1f}s")
    data_dir = work_dir / "public-data"
    services = build(Settings(database_url=db_url, data_dir=data_dir, run_projections=False))
    try:
        migrated = time.perf_counter()
        say(f"(f) migration 0004 (totals and names filled from the rows, indexes) in"
            f" {migrated - loaded:.1f}s")
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        say(f"(f) VACUUM ANALYZE in {time.perf_counter() - migrated:.1f}s; {table_sizes(db_url)}")
        names = search_names(rng, donors)
        for line in search_plans(services.queries, sorted(set(names))):
            say(f"(f) plan: {line}")
    finally:
        services.close()

    uncached = [f"{API}/public/summary?_={n}" for n in range(requests)]
    searches = [f"{API}/public/donations?{httpx.QueryParams(q=name)}"
                for name in (names[n % len(names)] for n in range(requests))]
    random.Random(SEED + 1).shuffle(searches)
    with running_server(db_url, work_dir, say, label="(f)", data_name="public-data",
                        log_name="server-public.log",
                        extra_env={"MINHBACH_RUN_PROJECTIONS": "false"}) as server:
        base = server.base_url
        first = httpx.get(base + f"{API}/public/summary", timeout=REQUEST_TIMEOUT_S)
        first.raise_for_status()
        etag = first.headers.get("etag")
        cached_headers = {"If-None-Match": etag} if etag else {}
        how = (f"revalidated with If-None-Match (the endpoint's ETag {etag})" if etag else
               "plain repeated requests: the endpoint gives no ETag")
        warm = WARM_UP_PER_CLIENT * clients
        get_many(base, ["/healthz"] * warm + [f"{API}/public/summary"] * warm + searches[:warm],
                 clients=clients)
        say(f"(f) measuring, {clients} clients: {requests:,} GET /healthz; {requests:,} summaries"
            f" uncached (distinct ?_=N and Cache-Control: no-cache); {requests * 2:,} summaries"
            f" cached ({how}); {requests:,} donor-name searches over {len(set(names))} names;"
            f" {requests:,} GET /healthz")
        def timed(paths: list[str], clients: int = clients, **options: Any) -> Timed:
            return get_many(base, paths, clients=clients,
                            meter=CpuMeter(pids={"server": server.pid}), **options).timed

        health1 = timed(["/healthz"] * requests)
        say(f"(f) /healthz: {describe(health1)}")
        cold = timed(uncached, headers={"Cache-Control": "no-cache"})
        say(f"(f) summary, uncached: {describe(cold)}")
        say(f"(f) summary, uncached: {cold.cpu}")
        revalidated = get_many(base, [f"{API}/public/summary"] * (requests * 2), clients=clients,
                               headers=cached_headers, ok=(200, 304),
                               meter=CpuMeter(pids={"server": server.pid}))
        warm_run, statuses = revalidated.timed, revalidated.statuses
        say(f"(f) summary, cached ({'304' if etag else '200'} expected;"
            f" {statuses.count(304):,} × 304, {statuses.count(200):,} × 200): {describe(warm_run)}")
        search = timed(searches)
        say(f"(f) donor-name search: {describe(search)}")
        say(f"(f) donor-name search: {search.cpu}")
        # The pages people open: the overview as rendered HTML (uncached: each URL is new, so the
        # page cache misses and the page runs its queries and its template; cached: the same URL,
        # answered from the page cache while the ledger doesn't move), and the search page.
        page_cold = timed([f"/?_={n}" for n in range(requests)])
        say(f"(f) overview page (HTML), uncached: {describe(page_cold)}")
        page_warm = timed(["/"] * (requests * 2))
        say(f"(f) overview page (HTML), from the page cache: {describe(page_warm)}")
        page_search = timed([p.replace(f"{API}/public/donations", "/donations") for p in searches])
        say(f"(f) donor-name search page (HTML): {describe(page_search)}")
        health2 = timed(["/healthz"] * requests)
        say(f"(f) /healthz again: {describe(health2)}")
        alone = timed(searches[: max(requests // 4, 50)], clients=1)
        say(f"(f) donor-name search from 1 client (no queueing, for comparison): {describe(alone)}")
        alone = timed(uncached[: max(requests // 8, 25)], clients=1, headers={"Cache-Control": "no-cache"})
        say(f"(f) summary, uncached, from 1 client (no queueing, for comparison): {describe(alone)}")
    baseline = min(p99(health1), p99(health2))
    size = f"{receipts // 1_000_000}m" if receipts >= 1_000_000 else f"{receipts // 1_000}k"
    unit = f"ms (p99 of GET /healthz, same {clients} clients)"

    def latency(name: str, timed: Timed, target: float) -> Figure:
        return Figure(name=f"{name}_p99_ms_{size}", value=p99(timed), unit="ms", baseline=baseline,
                      baseline_unit=unit, target=target, lower_is_better=True)

    return [
        latency("public_summary_uncached", cold, TARGET_SUMMARY_UNCACHED_P99_MS),
        latency("public_summary_cached", warm_run, TARGET_SUMMARY_CACHED_P99_MS),
        latency("public_donor_search", search, TARGET_SEARCH_P99_MS),
        latency("overview_page_uncached", page_cold, TARGET_SUMMARY_UNCACHED_P99_MS),
        latency("overview_page_cached", page_warm, TARGET_SUMMARY_CACHED_P99_MS),
        latency("donor_search_page", page_search, TARGET_SEARCH_P99_MS),
    ]


# ---- the rows ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Donor:
    donor_id: str
    name: str
    kind: str
    public_name: str | None
    anonymous: bool

    @property
    def display(self) -> str:
        return ANONYMOUS if self.anonymous else (self.public_name or self.name)

    @property
    def folded(self) -> str:
        # As the donations projection folds it: an anonymous donor's name is not searchable.
        return "" if self.anonymous else fold(f"{self.name} {self.public_name or ''}")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def person(rng: random.Random) -> tuple[str, bool]:
    boy = rng.random() < 0.5
    surname = rng.choice(demo.LOCAL_SURNAMES if rng.random() < 0.5 else demo.KINH_SURNAMES)
    middle = rng.choice(demo.BOY_MIDDLE if boy else demo.GIRL_MIDDLE)
    given = rng.choice(demo.BOY_NAMES if boy else demo.GIRL_NAMES)
    return f"{surname} {middle} {given}", boy


def make_donors(rng: random.Random, n: int) -> list[Donor]:
    """Individuals 85% (names shared, as real people's are), businesses 12%, and the demo's
    organisations, funds and agencies; each of these last gives far more often (see load_rows)."""
    out: list[Donor] = []
    for name in (*demo.ORGANISATIONS, *demo.FUNDS_DONORS, *demo.BUDGET_AGENCIES):
        out.append(Donor(_uuid(rng), name, "organisation", None, False))
    for name in demo.OTHER_AGENCIES:
        out.append(Donor(_uuid(rng), f"Cán bộ, công chức {name}", "agency", name, False))
    while len(out) < n:
        if rng.random() < 0.12:
            brand, trade = rng.choice(demo.BUSINESS_NAMES), rng.choice(demo.BUSINESS_TRADES)
            roll = rng.random()
            out.append(Donor(_uuid(rng), f"{rng.choice(demo.BUSINESS_FORMS)} {trade} {brand}",
                             "business", f"{brand} {trade}" if 0.1 <= roll < 0.35 else None,
                             roll < 0.1))
            continue
        name, boy = person(rng)
        roll = rng.random()
        public = None
        if 0.15 <= roll < 0.24:
            title = "anh" if boy else "chị"
            public = rng.choice((f"Gia đình {title} {name}", f"Nhà hảo tâm {name}",
                                 f"{title.capitalize()} {name} và các bạn"))
        out.append(Donor(_uuid(rng), name, "individual", public, roll < 0.15))
    return out


def receipt_dates(rng: random.Random, n: int) -> list[str]:
    """n dates of 2021, weighted by month as in the demo, in order."""
    months = list(MONTH_WEIGHTS)
    picks = rng.choices(months, weights=[MONTH_WEIGHTS[m] for m in months], k=n)
    days = []
    for m in picks:
        first = date(2021, m, 1)
        last = date(2021 + m // 12, m % 12 + 1, 1) - timedelta(days=1)
        days.append(first + timedelta(days=rng.randrange((last - first).days + 1)))
    return sorted(d.isoformat() for d in days)


def load_rows(db_url: str, rng: random.Random, donors: list[Donor], receipts: int) -> dict[str, int]:
    districts = [a.code for a in load_areas().all() if a.kind == "district"]
    pledges = max(receipts // RECEIPTS_PER_PLEDGE, 10)
    # Who gives how often: the organisations, funds and agencies many times each, then a long
    # tail where most people give once or twice.
    weights = [200.0] * 35 + [1 / (r + 1) ** 0.35 for r in range(len(donors) - 35)]
    givers = rng.choices(range(len(donors)), weights=weights, k=receipts)
    pledge_rows = []
    position = 100
    for _ in range(pledges):
        position += rng.randrange(1, 4)
        pledge_rows.append((_uuid(rng), position, rng.choice(donors).donor_id,
                            rng.randrange(10, 2000) * 1_000_000, 0,
                            f"2021-{rng.randrange(3, 13):02d}-15", int(rng.random() < 0.01)))
    pledge_ids = [p[0] for p in pledge_rows]

    def receipt_rows() -> Iterator[tuple[Any, ...]]:
        pos = position + 10
        for k, on in enumerate(receipt_dates(rng, receipts)):
            pos += rng.randrange(2, 5)  # other events in between: draws, claims, allocations
            donor = donors[givers[k]]
            roll = rng.random()
            item, quantity = None, 0
            if roll < 0.6:
                channel, amount = "bank", rng.randrange(1, 500) * 100_000
            elif roll < 0.9:
                channel, amount = "cash", rng.randrange(1, 200) * 50_000
            else:
                goods = rng.choice(GOODS)
                channel, item, quantity = "in_kind", goods["item"], rng.randrange(10, 200)
                amount = quantity * goods["unit_value_vnd"]
            restriction = f"district={rng.choice(districts)}" if rng.random() < 0.2 else ""
            yield (_uuid(rng), receipt_reference(on, pos), pos, donor.donor_id, donor.display,
                   donor.folded, rng.choice(pledge_ids) if rng.random() < 0.05 else None,
                   rng.choice(FUNDS), channel, amount, item, quantity, on, restriction,
                   rng.choice(demo.PARTNERS) if rng.random() < 0.2 else None,
                   int(rng.random() < 0.002))

    programmes, distributions, lines = programme_rows(rng, districts)
    with psycopg.connect(db_url) as conn, conn.cursor() as cur:
        copy(cur, "donors (donor_id, position, name, kind, public_name, anonymous, display_name,"
                  " display_folded)",
             ((d.donor_id, 1 + i, d.name, d.kind, d.public_name, int(d.anonymous), d.display,
               d.folded) for i, d in enumerate(donors)))
        copy(cur, "pledges (pledge_id, position, donor_id, amount_vnd, received_vnd, due_on,"
                  " cancelled)", pledge_rows)
        copy(cur, "public_donations (receipt_id, reference, position, donor_id, donor_display,"
                  " donor_folded, pledge_id, fund, channel, amount_vnd, item, quantity, received_on,"
                  " restriction, mobilised_by, reversed)", receipt_rows())
        copy(cur, "programme_balances (programme_id, season, district, commune, category,"
                  " allocated_vnd, distributed_vnd, returned_vnd)", programmes)
        copy(cur, "distributions (distribution_id, position, programme_id, season, district,"
                  " commune, category, distributed_on, total_vnd, named_children,"
                  " beneficiaries_count, overrides, reversed)", distributions)
        copy(cur, "distribution_lines (distribution_id, line_no, child_id, item, quantity,"
                  " value_vnd)", lines)
        conn.commit()
    return {"donors": len(donors), "pledges": pledges, "receipts": receipts,
            "programmes": len(programmes), "distributions": len(distributions),
            "distribution lines": len(lines)}


def programme_rows(rng: random.Random, districts: list[str]) -> tuple[list[tuple[Any, ...]], ...]:
    children = [_uuid(rng) for _ in range(CHILDREN)]
    programmes: list[tuple[Any, ...]] = []
    distributions: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    position = 10**7
    for c in range(COMMUNES):
        district = districts[c % len(districts)]
        commune = f"{district}-{c:04d}"
        pool = children[c * CHILDREN // COMMUNES:(c + 1) * CHILDREN // COMMUNES]
        for category in CATEGORIES:
            programme_id = _uuid(rng)
            allocated = rng.randrange(50, 500) * 1_000_000
            distributed = 0
            for _ in range(DISTRIBUTIONS_PER_PROGRAMME):
                did = _uuid(rng)
                position += 7
                value = rng.randrange(2, 6) * 100_000
                named = rng.sample(pool, min(NAMED_PER_DISTRIBUTION, len(pool)))
                group = rng.randrange(0, 60)
                for n, child in enumerate([*named, None]):
                    lines.append((did, n, child, None, 1 if child else group,
                                  value if child else group * value))
                total = value * (len(named) + group)
                reversed_ = int(rng.random() < 0.005)
                distributed += 0 if reversed_ else total
                distributions.append((did, position, programme_id, SEASON, district, commune,
                                      category, f"2021-{rng.randrange(9, 13):02d}-10", total,
                                      len(named), group, int(rng.random() < 0.01), reversed_))
            programmes.append((programme_id, SEASON, district, commune, category,
                               max(allocated, distributed), distributed, 0))
    return programmes, distributions, lines


def copy(cur: psycopg.Cursor[Any], target: str, rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows (no tabs, newlines or backslashes in any value) in text format."""
    with cur.copy(f"COPY {target} FROM STDIN") as out:
        buffer = io.StringIO()
        for k, row in enumerate(rows, 1):
            buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
            buffer.write("\n")
            if k % COPY_CHUNK == 0:
                out.write(buffer.getvalue())
                buffer = io.StringIO()
        out.write(buffer.getvalue())


def table_sizes(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname IN"
            " ('public_donations', 'public_donations_position', 'public_donations_folded',"
            " 'public_names', 'public_names_trgm', 'public_donor_years', 'public_reach',"
            " 'public_reach_children')"
            " ORDER BY relname"
        ).fetchall()
    return ", ".join(f"{name} {size / 2**20:,.1f} MiB" for name, size in rows)


# ---- what is searched -------------------------------------------------------------------------

def search_names(rng: random.Random, donors: list[Donor]) -> list[str]:
    """The names searched, without diacritics, as a visitor types them: 30 full names of donors
    (the usual question, about two requests in three) and 16 others."""
    named = [d for d in donors if d.kind == "individual" and not d.anonymous]
    full = [fold(d.name) for d in rng.sample(named, 30)]
    others = ["nguyen", "le", "hoang", "tran thi", "linh", "minh", "van nam", "thi huyen",
              "cong ty tnhh", "sao mai", "hoang long", "hoi chu thap do", "quy bao tro tre em",
              "nguyen van zzz", "john smith", "xyz"]
    return full + others


def search_plans(queries: Queries, names: list[str]) -> list[str]:
    """What `Queries.donations(q=name)` runs for each name, and which indexes PostgreSQL uses."""
    indexes = ("public_names_trgm", "public_donations_folded", "public_donations_position")
    real = queries.db.query
    seen: list[tuple[str, list[Any]]] = []

    def recording(sql: str, params: Any = ()) -> Any:
        seen.append((sql, list(params)))
        return real(sql, params)

    out = []
    for name in names:
        seen.clear()
        queries.db.query = recording  # type: ignore[method-assign]
        try:
            rows, _ = queries.donations(q=name)
        finally:
            del queries.db.query
        steps, took = [], 0.0
        for sql, params in seen:
            plan = [r["QUERY PLAN"] for r in real("EXPLAIN (ANALYZE) " + sql, params)]
            table = "public_names" if "FROM public_names" in sql else "public_donations"
            used = [i for i in indexes if any(i in line for line in plan)] or ["no index"]
            steps.append(f"{table} by {', '.join(used)}")
            took += sum(float(line.split(":")[1].split()[0]) for line in plan
                        if line.startswith(("Planning Time", "Execution Time")))
        out.append(f"{name!r}: {len(rows)} rows; {'; then '.join(steps)}; {took:.1f} ms")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.public_site [--quick] [--json]`: figure (f) alone, in its own scratch
    database (`minhbach bench` runs it after the others)."""
    from bench.run import run_one

    run_one("public", argv, lambda db, work, sizes, say: measure(
        db, work, receipts=sizes.public_receipts, clients=sizes.clients,
        requests=sizes.public_requests, say=say))


if __name__ == "__main__":
    main()
