"""Figure (h): a "typhoon Yagi" surge: 300,000 donations (quick: 30,000) arriving by bank
statements and through the API, compressed into minutes, then reconciled with no mismatch.

In September 2024 the Vietnam Fatherland Front received hundreds of thousands of transfers for
the victims of typhoon Yagi within days. Here the campaign account gets DAYS daily statements
(10–19 September 2024), every one of them a bank's end-of-day statement, alternately CSV and
camt.053, each opening at the previous one's closing balance. Of the donations:

- API_SHARE are recorded live through `POST /api/v1/receipts` (bank transfers the staff see in
  online banking, with the bank's transaction id); their day's statement carries the same id,
  and the import matches them by it;
- PLEDGE_SHARE pay a pledge by its VietQR payment code (`MB…` in the transfer text): the import
  makes each a receipt of that pledge's donor, matched to its line. The pledges (PAYMENTS_PER_PLEDGE
  payments each: agencies, unions and companies collecting from their members) are made in the
  set-up, not timed;
- the rest are credits no rule can match (a name and "ung ho dong bao bao lu"): after each
  import, the finance staff turn each into a receipt (`POST /api/v1/matches` with
  `create_receipt`), the donor found by the counterparty's name or made anonymous.

The service runs as figure (g)'s: `minhbach serve --workers 4` (projections off, rate limits
off) and `minhbach project` in its own process. Timed, from the first request: CLIENTS threads
post the API receipts day after day; as soon as day d's are all answered, day d's statement is
uploaded (`POST /api/v1/bank-accounts/{code}/statements`) while the clients go on with day d+1;
then its lines are read (`GET …/lines?from=d&to=d`) and the unmatched ones made receipts by
MATCH_CLIENTS threads. The clock stops when the reconciliation report over the ten days
(`GET /api/v1/reconciliation`), asked once the projection worker has reached the log's head,
says reconciled: every line matched, no unmatched ledger entry, no gap, difference 0. Any other
answer fails the run. The projection lag is sampled throughout (as in (g)): its maximum, and the
time from the last answer until every projection had the last event.

Baseline: PostgreSQL's COPY of the same rows (all days, as one CSV) into a plain table, after a
warm-up COPY, as in (e). Targets, absolute because people wait for them: the whole surge at
TARGET_DONATIONS_PER_S or more (300,000 donations reconciled within 10 minutes: the campaign
publishes the day's reconciled statements the same evening), the lag at the end within 2 s (as
(g)), the lag at the surge's peak within 30 s (the staff's screens trail the imports by at most
about one statement chunk's projection), and zero mismatches.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from adapters.statements import Statement, StatementLine, write_camt053, write_csv
from bench.figures import Figure, percentile
from bench.generate import BATCH_AGGREGATES, BatchedLedger
from bench.http_receipts import (
    API,
    REQUEST_TIMEOUT_S,
    Projector,
    Server,
    running_projector,
    running_server,
)
from bench.mixed_load import WORKERS, LagSampler, idle_lag_s, lag_seconds
from bench.statement_import import copy_baseline
from domain.bank import StatementFormat
from domain.matching import payment_code
from domain.meta import Context
from domain.text import fold
from ledger.bootstrap import build
from ledger.settings import Settings

ACCOUNT = "VCB-YAGI"
ACCOUNT_NUMBER = "0011001932418"
FIRST_DAY = date(2024, 9, 10)
DAYS = 10
API_SHARE = 0.10
PLEDGE_SHARE = 0.85
PAYMENTS_PER_PLEDGE = 10
DONORS = 2_000
MATCH_CLIENTS = 4
IMPORT_LINES_PER_S = 50  # an import slower than this has stalled (about 350 lines/s here)
IMPORT_MIN_TIMEOUT_S = 60.0
OPENING_VND = 120_000_000_000
TARGET_DONATIONS_PER_S = 300_000 / 600
TARGET_LAG_END_S = 2.0
TARGET_LAG_MAX_S = 30.0
IDLE_RECEIPTS = 10
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hồng", "Quang", "Ngọc")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Lan", "Nam", "Sơn", "Tú", "Yến", "Hương", "Khánh")

Say = Callable[[str], None]


# ---- the plan (no database) ------------------------------------------------------------------

@dataclass(frozen=True)
class Day:
    on: date
    receipts: list[dict[str, Any]]  # bodies of POST /receipts, each with its bank_txn_id
    statement: Statement  # every credit of the day, the receipts' included
    unknown: int  # lines no rule matches: made receipts by hand

    @property
    def data(self) -> bytes:
        return (write_csv if self.statement.format == "csv" else write_camt053)(self.statement)

    @property
    def format(self) -> str:
        return self.statement.format


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def plan(donations: int, donors: Sequence[str], pledges: Sequence[UUID], *, days: int = DAYS,
         seed: int = 2024) -> list[Day]:
    """The surge, day by day: what the API records and what each day's statement says."""
    rng = random.Random(seed)
    kinds = (["api"] * round(donations * API_SHARE) + ["pledge"] * round(donations * PLEDGE_SHARE))
    kinds += ["unknown"] * (donations - len(kinds))
    rng.shuffle(kinds)
    balance, out, txn = OPENING_VND, [], 0
    for d in range(days):
        on = FIRST_DAY + timedelta(days=d)
        receipts: list[dict[str, Any]] = []
        lines: list[StatementLine] = []
        opening = balance
        unknown = 0
        for kind in kinds[d * len(kinds) // days:(d + 1) * len(kinds) // days]:
            txn += 1
            bank_id = f"FT24{on:%m%d}{txn:08d}"
            amount = rng.choice((50_000, 100_000, 200_000, 500_000, 1_000_000)) * rng.randrange(1, 5)
            name = _name(rng)
            if kind == "api":
                receipts.append({"donor_id": rng.choice(donors), "fund": "campaign",
                                 "received_on": on.isoformat(), "channel": "bank",
                                 "amount_vnd": amount, "bank_txn_id": bank_id,
                                 "note": "Ủng hộ đồng bào bị thiệt hại do bão Yagi"})
                text = "UNG HO DONG BAO BAO LU"
            elif kind == "pledge":
                text = f"{payment_code(rng.choice(pledges))} ung ho bao Yagi"
            else:
                text = rng.choice(("ung ho dong bao bao lu", "UNG HO MIEN BAC", "ung ho bao so 3", ""))
                unknown += 1
            balance += amount
            lines.append(StatementLine(on, amount, bank_id, balance, fold(name).upper(), None, text))
        fmt: StatementFormat = "csv" if d % 2 == 0 else "camt053"
        out.append(Day(on, receipts, Statement(fmt, ACCOUNT_NUMBER, on, on, opening, balance, tuple(lines)),
                       unknown))
    return out


def as_one_csv(days: Sequence[Day]) -> bytes:
    """Every day's lines as one CSV statement: the baseline's rows."""
    lines = tuple(line for day in days for line in day.statement.lines)
    return write_csv(Statement("csv", ACCOUNT_NUMBER, days[0].on, days[-1].on,
                               days[0].statement.opening_balance_vnd,
                               days[-1].statement.closing_balance_vnd, lines))


# ---- set-up (not timed) ------------------------------------------------------------------------

def set_up(db_url: str, data_dir: Path, donations: int) -> tuple[list[str], list[UUID]]:
    """The account, the donors and the pledges, through the Ledger, saved in batches."""
    # The data directory's own service key, which the server then uses too.
    services = build(Settings(database_url=db_url, data_dir=data_dir, run_projections=False))
    rng = random.Random(9)
    ctx = Context(actor="bench", role="finance")
    try:
        services.bank.register_account(ctx, "", code=ACCOUNT, bank="Vietcombank", bank_bin="970436",
                                       account_number=ACCOUNT_NUMBER, fund="campaign")
        ledger = services.ledger
        donors: list[str] = []
        pledges: list[UUID] = []
        with BatchedLedger(ledger) as batch:
            for i in range(DONORS):
                donors.append(str(ledger.register_donor(ctx, "", name=f"{_name(rng)} {i:04d}",
                                                        kind="individual")["id"]))
                if len(batch.touched) >= BATCH_AGGREGATES:
                    batch.flush()
            for _ in range(max(1, round(donations * PLEDGE_SHARE / PAYMENTS_PER_PLEDGE))):
                pledges.append(UUID(str(ledger.make_pledge(
                    ctx, "", donor_id=UUID(rng.choice(donors)),
                    amount_vnd=rng.randrange(10, 500) * 1_000_000)["id"])))
                if len(batch.touched) >= BATCH_AGGREGATES:
                    batch.flush()
            batch.flush()
        return donors, pledges
    finally:
        services.close()


# ---- the surge ---------------------------------------------------------------------------------

class Clients:
    """One keep-alive httpx.Client per pool thread."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.local = threading.local()
        self.made: list[httpx.Client] = []
        self.lock = threading.Lock()

    def get(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self.local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.server.base_url, timeout=REQUEST_TIMEOUT_S,
                                  headers={"Authorization": f"Bearer {self.server.token}"})
            self.local.client = client
            with self.lock:
                self.made.append(client)
        return client

    def close(self) -> None:
        for client in self.made:
            client.close()


def _expect(r: httpx.Response, status: int) -> httpx.Response:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}")
    return r


class Stalled(Exception):
    """The surge stopped: an import never answered. `counts` says how far it got."""

    def __init__(self, message: str, counts: dict[str, int]) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass(frozen=True)
class Surge:
    seconds: float
    last_answer: float  # perf_counter
    report: dict[str, Any]
    counts: dict[str, int]


def surge(server: Server, projector: Projector, days: list[Day], *, clients: int, sampler: LagSampler,
          say: Say) -> Surge:
    pool = Clients(server)
    api = ThreadPoolExecutor(clients, thread_name_prefix="api")
    matches = ThreadPoolExecutor(MATCH_CLIENTS, thread_name_prefix="match")
    importer = Clients(server)
    counts = {"api receipts": 0, "statement lines": 0, "matched on import": 0, "made receipts": 0}

    def post_receipt(body: dict[str, Any]) -> None:
        _expect(pool.get().post(f"{API}/receipts", json=body,
                                headers={"Idempotency-Key": str(uuid.uuid4())}), 201)

    def receipt_from_line(line_id: str) -> None:
        _expect(pool.get().post(f"{API}/matches", json={"bank_line_id": line_id, "create_receipt": {}},
                                headers={"Idempotency-Key": str(uuid.uuid4())}), 201)

    try:
        t0 = time.perf_counter()
        per_day: list[list[Future[None]]] = [[api.submit(post_receipt, b) for b in day.receipts]
                                             for day in days]
        made: list[Future[None]] = []
        for day, futures in zip(days, per_day, strict=True):
            for f in futures:
                f.result()
            counts["api receipts"] += len(futures)
            t1 = time.perf_counter()
            timeout = max(IMPORT_MIN_TIMEOUT_S, len(day.statement.lines) / IMPORT_LINES_PER_S)
            try:
                answer = _expect(importer.get().post(
                    f"{API}/bank-accounts/{ACCOUNT}/statements",
                    files={"file": (f"sao-ke-{day.on}.{'csv' if day.format == 'csv' else 'xml'}", day.data)},
                    data={"format": day.format}, headers={"Idempotency-Key": str(uuid.uuid4())},
                    timeout=timeout), 201).json()
            except httpx.TimeoutException as e:
                raise Stalled(
                    f"the import of {day.on}'s statement did not answer within {timeout:.0f}s (seen:"
                    " an API worker waiting in psycopg's Pipeline.sync inside the event store's insert,"
                    " its backend in ClientRead, holding the events table's lock)", counts) from e
            counts["statement lines"] += answer["new_lines"]
            counts["matched on import"] += answer["matched"]
            lines = _expect(importer.get().get(f"{API}/bank-accounts/{ACCOUNT}/lines",
                                               params={"from": day.on.isoformat(),
                                                       "to": day.on.isoformat()}), 200).json()["items"]
            open_lines = [r["line_id"] for r in lines if r["match_id"] is None]
            if len(open_lines) != day.unknown:
                raise RuntimeError(f"{day.on}: {len(open_lines)} lines left unmatched by the import,"
                                   f" {day.unknown} expected")
            made += [matches.submit(receipt_from_line, line_id) for line_id in open_lines]
            counts["made receipts"] += len(open_lines)
            say(f"(h) {day.on} ({day.format}): {answer['new_lines']:,} lines, {answer['matched']:,}"
                f" matched on import in {time.perf_counter() - t1:.1f}s; {len(open_lines):,} to make"
                f" receipts of; {time.perf_counter() - t0:.0f}s since the start")
        for f in made:
            f.result()
        last_answer = time.perf_counter()
        sampler.wait_caught_up(projector)
        report = _expect(importer.get().get(f"{API}/reconciliation", params={
            "account": ACCOUNT, "from": days[0].on.isoformat(), "to": days[-1].on.isoformat()}),
            200).json()
        seconds = time.perf_counter() - t0
    finally:
        api.shutdown(cancel_futures=True)
        matches.shutdown(cancel_futures=True)
        pool.close()
        importer.close()
    return Surge(seconds, last_answer, report, counts)


def mismatches(report: dict[str, Any]) -> int:
    """What keeps the report from saying reconciled: open lines, open entries, gaps, a difference."""
    return int(len(report["unmatched_bank_lines"]) + len(report["unmatched_ledger_entries"])
               + len(report["gaps"]) + (report["difference_vnd"] != 0))


def measure(db_url: str, work_dir: Path, *, donations: int, clients: int, say: Say) -> list[Figure]:
    data_name = "yagi-data"
    t0 = time.perf_counter()
    donors, pledges = set_up(db_url, work_dir / data_name, donations)
    days = plan(donations, donors, pledges)
    lines = sum(len(d.statement.lines) for d in days)
    say(f"(h) set-up: {len(donors):,} donors, {len(pledges):,} pledges; {DAYS} statements of"
        f" {lines:,} lines ({sum(len(d.receipts) for d in days):,} through the API first,"
        f" {sum(d.unknown for d in days):,} no rule matches) in {time.perf_counter() - t0:.0f}s (not timed)")
    rows = as_one_csv(days)
    copy_baseline(db_url, as_one_csv(days[:1]), table="bench_yagi_copy_warm_up")
    copy_s = copy_baseline(db_url, rows, table="bench_yagi_copy")
    say(f"(h) baseline: COPY of the same rows: {copy_s:.2f}s = {lines / copy_s:,.0f} lines/s")
    sampler = LagSampler(db_url)
    try:
        with running_server(db_url, work_dir, say, label="(h)", data_name=data_name,
                            log_name="server-yagi.log", extra_env={"MINHBACH_RUN_PROJECTIONS": "false"},
                            workers=WORKERS) as server, \
                running_projector(db_url, work_dir, say, label="(h)", data_name=data_name,
                                  log_name="projector-yagi.log") as projector:
            sampler.wait_caught_up(projector)
            idle = idle_lag_s(server, sampler, donors, IDLE_RECEIPTS)  # also the warm-up
            say(f"(h) measuring: {donations:,} donations over {DAYS} days, {clients} API clients,"
                f" {MATCH_CLIENTS} making receipts of unmatched lines")
            sampler.start()
            try:
                run = surge(server, projector, days, clients=clients, sampler=sampler, say=say)
            except Stalled as stall:
                say(f"(h) STALLED: {stall}; got as far as {stall.counts}; stopping the server")
                return stalled_figures(donations, lines, lines / copy_s, stall.counts)
            finally:
                samples = sampler.stop()
    finally:
        sampler.close()
    report = run.report
    wrong = mismatches(report)
    say(f"(h) {donations:,} donations reconciled in {run.seconds:.1f}s = {donations / run.seconds:,.0f}/s;"
        f" {run.counts}; report: reconciled {report['reconciled']}, matched {report['matched']:,},"
        f" difference {report['difference_vnd']:,} đồng, {wrong} mismatches")
    lags = lag_seconds(samples)
    end = next((s.at for s in samples if s.at >= run.last_answer and s.projected >= s.head),
               samples[-1].at) - run.last_answer
    behind = [s.head - s.projected for s in samples]
    say(f"(h) projection lag: p50 {percentile(lags, 50):.1f}s, p99 {percentile(lags, 99):.1f}s, max"
        f" {max(lags):.1f}s (events behind: max {max(behind):,}); at the end {end:.2f}s")
    if report["matched"] != lines or not report["reconciled"]:
        say(f"(h) NOT reconciled: {report['matched']:,} of {lines:,} lines matched; first unmatched"
            f" lines {report['unmatched_bank_lines'][:3]}, entries {report['unmatched_ledger_entries'][:3]},"
            f" gaps {report['gaps'][:3]}")
    idle_s = sorted(idle)[len(idle) // 2]
    size = f"{donations // 1_000}k"
    lag_unit = "s (one receipt on the idle system, median)"
    return [
        Figure(name=f"yagi_day_{size}_donations_reconciled_per_s", value=donations / run.seconds,
               unit="donations/s", baseline=lines / copy_s,
               baseline_unit="lines/s (COPY of the same rows into a plain table)",
               target=TARGET_DONATIONS_PER_S),
        Figure(name=f"yagi_day_{size}_projection_lag_max_s", value=max(lags), unit="s", baseline=idle_s,
               baseline_unit=lag_unit, target=TARGET_LAG_MAX_S, lower_is_better=True),
        Figure(name=f"yagi_day_{size}_projection_lag_at_end_s", value=end, unit="s", baseline=idle_s,
               baseline_unit=lag_unit, target=TARGET_LAG_END_S, lower_is_better=True),
        Figure(name=f"yagi_day_{size}_reconciliation_mismatches", value=wrong, unit="mismatches",
               baseline=lines, baseline_unit="statement lines", target=0, lower_is_better=True),
    ]


def stalled_figures(donations: int, lines: int, copy_rate: float, counts: dict[str, int]) -> list[Figure]:
    """A surge that stalled reconciles nothing: its rate is 0 and every line not yet matched is a
    mismatch, so that the run still reports every other figure."""
    size = f"{donations // 1_000}k"
    done = counts["matched on import"] + counts["made receipts"]
    return [
        Figure(name=f"yagi_day_{size}_donations_reconciled_per_s", value=0.0, unit="donations/s",
               baseline=copy_rate, baseline_unit="lines/s (COPY of the same rows into a plain table)",
               target=TARGET_DONATIONS_PER_S),
        Figure(name=f"yagi_day_{size}_reconciliation_mismatches", value=lines - done, unit="mismatches",
               baseline=lines, baseline_unit="statement lines", target=0, lower_is_better=True),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.yagi_day [--quick] [--json]`: figure (h) alone."""
    from bench.run import run_one

    run_one("yagi", argv, lambda db, work, sizes, say: measure(
        db, work, donations=sizes.yagi_donations, clients=sizes.clients, say=say))


if __name__ == "__main__":
    main()
