"""Figure (g): a mixed load, 90% public reads and 10% commands, against 4 API workers and a
separate projection worker on PostgreSQL, for 5 minutes (quick: 20 s).

Set-up (not timed): a log of SEED_EVENTS events made by bench.generate (donors, receipts,
allocations, distributions, pledges, children), then `minhbach serve --workers 4` with
MINHBACH_RUN_PROJECTIONS=false and rate limits off, and `minhbach project` (every projection, the
Merkle tree and its signed heads) in its own process, as docs/deploy.md runs a province. The
bench waits until the projections have reached the log's head, then warms up (every kind of
request from every client) outside the timing.

The load: CLIENTS threads, one keep-alive `httpx.Client` each, send requests one after the other
for the whole duration, each drawn at random from MIX: the public summary, the donor-name search
(`/public/donations?q=`), the HTML overview `/` and search page `/donations?q=`, inclusion proofs
of random positions, the `/verify` page, and POST /api/v1/receipts with a finance token (the
mix of figure (a)). Every answer must be 200 (201 for a receipt); anything else, or no answer, is
an error and counted. Latencies are kept per request, reads and commands apart.

Projection lag: a sampler reads, every LAG_SAMPLE_S, the log's head (max notification id) and the
slowest projection's position (projection_tracking). A sample's lag is the time from it until the
first sample at which every projection had reached that head: how long a write made then took,
at most, to show in every read model. After the load the sampler runs on until the projections
catch up, so every sample gets its lag. Its baseline is the same lag for a single receipt on the
idle system (median of IDLE_RECEIPTS receipts, one at a time, before the load).

Baseline of the rest: `GET /healthz` (one small SELECT) from the same clients against the same
workers, before and after the load, FIXED requests each; the higher rate and lower p99 count. It
is what the workers answer at all with this machine and these clients, so the ratios say what
the mix itself costs.

Targets, absolute because people wait for them: reads p99 ≤ 300 ms (the uncached summary's
target of figure (f)), commands p99 ≤ 300 ms (a finance officer saving a receipt), projection
lag p99 ≤ 2 s (an anonymous `?after=` read waits at most `anonymous_wait_timeout_s` = 2 s for its
position), zero errors. The throughput's target is a ratio: at least THROUGHPUT_RATIO of the
`/healthz` rate from the same clients.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.clients import describe, get_many
from bench.cpu import CpuMeter
from bench.figures import Figure, percentile
from bench.generate import Generator
from bench.http_receipts import (
    API,
    REQUEST_TIMEOUT_S,
    Projector,
    Server,
    Timed,
    receipt_body,
    running_projector,
    running_server,
)
from ledger.bootstrap import build
from ledger.settings import Settings
from projections.read_models import all_projections

SEED_EVENTS = 10_000
WORKERS = 4
LAG_SAMPLE_S = 0.05
IDLE_RECEIPTS = 20
HEALTHZ_REQUESTS = 2_000
WARM_UP_S = 3.0
CATCH_UP_TIMEOUT_S = 300.0
TARGET_READ_P99_MS = 300.0
TARGET_COMMAND_P99_MS = 300.0
TARGET_LAG_P99_S = 2.0
THROUGHPUT_RATIO = 0.2
MAX_ERRORS_SHOWN = 5

# (kind, weight in percent): 90 reads, 10 commands.
MIX = (("summary", 20), ("search", 20), ("overview", 15), ("search_page", 15), ("proof", 15),
       ("verify", 5), ("receipt", 10))
COMMANDS = frozenset({"receipt"})
SEARCHES = ("nha hao tam", "nha hao tam so 00012", "don vi 00031", "nha hao tam so 0004", "nguyen",
            "don vi", "xyz")

Say = Callable[[str], None]


# ---- the lag -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LagSample:
    at: float  # perf_counter seconds
    head: int  # the log's newest position
    projected: int  # the slowest projection's position


def lag_seconds(samples: Sequence[LagSample]) -> list[float]:
    """For each sample, the time until the first sample (itself or later) at which the slowest
    projection had reached its head; samples whose head was never reached are left out."""
    out: list[float] = []
    j = 0
    for i, sample in enumerate(samples):
        j = max(j, i)
        while j < len(samples) and samples[j].projected < sample.head:
            j += 1
        if j == len(samples):
            break  # nor will any later sample's (heads only grow)
        out.append(samples[j].at - sample.at)
    return out


class LagSampler:
    """Samples the head and the slowest projection's position every `every` seconds, in a thread."""

    def __init__(self, db_url: str, every: float = LAG_SAMPLE_S) -> None:
        self.db_url, self.every = db_url, every
        self.names = [p.name for p in all_projections()]
        self.samples: list[LagSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._conn = psycopg.connect(db_url, autocommit=True)

    def sample(self) -> LagSample:
        row = self._conn.execute("SELECT (SELECT COALESCE(max(notification_id), 0) FROM ledger_events)"
                                 ).fetchone()
        head = int(row[0]) if row else 0
        found: dict[Any, Any] = dict(self._conn.execute(
            "SELECT name, position FROM projection_tracking").fetchall())
        projected = min(int(found.get(n, 0)) for n in self.names)
        return LagSample(time.perf_counter(), head, projected)

    def wait_caught_up(self, projector: Projector, timeout_s: float = CATCH_UP_TIMEOUT_S) -> LagSample:
        """Wait until every projection has reached the head seen on entry, polling the positions;
        fails if the projection worker has exited (e.g. no connection left on a shared server)."""
        deadline = time.perf_counter() + timeout_s
        head = self.sample().head
        while (s := self.sample()).projected < head:
            if not projector.alive():
                raise RuntimeError(f"the projection worker exited:\n{projector.log_tail()}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the projections stayed at {s.projected} of {head} for {timeout_s}s")
            time.sleep(self.every)
        return s

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.every)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[LagSample]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def close(self) -> None:
        self._conn.close()


# ---- the load ----------------------------------------------------------------------------------

@dataclass
class Load:
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, kinds: Callable[[str], bool]) -> list[float]:
        return [x for k, xs in self.latencies_ms.items() if kinds(k) for x in xs]

    @property
    def count(self) -> int:
        return sum(len(xs) for xs in self.latencies_ms.values())


@dataclass(frozen=True)
class Targets:
    """What the requests ask for: donors to give, positions to prove, the tree size proved in."""

    donors: list[str]
    tree_size: int


def run_load(server: Server, targets: Targets, *, clients: int, seconds: float, seed: int,
             meter: CpuMeter | None = None) -> Load:
    """`clients` threads sending MIX for `seconds`; every latency and every error kept."""
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    headers = {"Authorization": f"Bearer {server.token}"}
    per_client: list[dict[str, list[float]]] = [{k: [] for k in kinds} for _ in range(clients)]
    errors: list[str] = []
    start = threading.Barrier(clients + 1)
    deadline: list[float] = [0.0]

    def request(client: httpx.Client, rng: random.Random, kind: str, n: int) -> tuple[httpx.Response, int]:
        if kind == "receipt":
            body = receipt_body(rng, rng.choice(targets.donors), n)
            return client.post(f"{API}/receipts", json=body, headers={
                **headers, "Idempotency-Key": str(uuid.uuid4())}), 201
        q = httpx.QueryParams(q=rng.choice(SEARCHES))
        path = {"summary": f"{API}/public/summary", "search": f"{API}/public/donations?{q}",
                "overview": "/", "search_page": f"/donations?{q}", "verify": "/verify",
                "proof": f"{API}/audit/proofs/inclusion?position={rng.randrange(1, targets.tree_size + 1)}"
                         f"&tree_size={targets.tree_size}"}[kind]
        return client.get(path), 200

    def work(i: int) -> None:
        rng = random.Random(seed + i)
        out = per_client[i]
        with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S) as client:
            client.get("/healthz")  # open the connection before the clock starts
            start.wait()
            n = 0
            while time.perf_counter() < deadline[0]:
                kind = rng.choices(kinds, weights)[0]
                t0 = time.perf_counter()
                try:
                    r, expected = request(client, rng, kind, n)
                    if r.status_code != expected:
                        errors.append(f"{kind}: {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as e:
                    errors.append(f"{kind}: {type(e).__name__}: {e}")
                out[kind].append((time.perf_counter() - t0) * 1000)
                n += 1

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    if meter:
        meter.start()
    start.wait()
    t0 = time.perf_counter()
    deadline[0] = t0 + seconds
    for t in threads:
        t.join()
    load = Load(errors=errors, seconds=time.perf_counter() - t0)
    load.latencies_ms = {k: [x for c in per_client for x in c[k]] for k in kinds}
    return load


def idle_lag_s(server: Server, sampler: LagSampler, donors: list[str], n: int) -> list[float]:
    """For single receipts on an idle system: seconds from the answer until every projection has
    its position."""
    rng = random.Random(7)
    out = []
    with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT_S,
                      headers={"Authorization": f"Bearer {server.token}"}) as client:
        for k in range(n):
            r = client.post(f"{API}/receipts", json=receipt_body(rng, rng.choice(donors), k),
                            headers={"Idempotency-Key": str(uuid.uuid4())})
            if r.status_code != 201:
                raise RuntimeError(f"POST {API}/receipts: {r.status_code} {r.text[:300]}")
            answered = time.perf_counter()
            position = int(r.json()["position"])
            while sampler.sample().projected < position:
                if time.perf_counter() - answered > CATCH_UP_TIMEOUT_S:
                    raise RuntimeError(f"position {position} was not projected")
                time.sleep(0.005)
            out.append(time.perf_counter() - answered)
    return out


def api_workers(supervisor: int) -> dict[str, int]:
    """uvicorn's worker processes under its supervisor (Linux /proc; none elsewhere), by name for
    CpuMeter."""
    try:
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
        # Not multiprocessing's resource tracker, the supervisor's other child.
        workers = [int(pid) for pid in children
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    except OSError:
        return {}
    return {f"API worker {n}": pid for n, pid in enumerate(workers, 1)}


def seed(db_url: str, data_dir: Path, events: int) -> tuple[list[str], int]:
    """The log (not timed): bench.generate's mix through the Ledger. Returns the donors' ids and
    the log's head."""
    services = build(Settings(database_url=db_url, data_dir=data_dir, run_projections=False))
    try:
        communes = [a for a in services.areas.all() if a.kind == "commune"]
        generator = Generator(services.ledger, communes)
        generator.run(events)
        head = services.ledger.recorder.max_notification_id() or 0
        return [str(d) for d in generator.donors], head
    finally:
        services.close()


def measure(db_url: str, work_dir: Path, *, clients: int, seconds: float, say: Say) -> list[Figure]:
    data_name = "mixed-data"
    t0 = time.perf_counter()
    donors, head = seed(db_url, work_dir / data_name, SEED_EVENTS)
    say(f"(g) seeded {head:,} events ({len(donors):,} donors) in {time.perf_counter() - t0:.0f}s (not timed)")
    off = {"MINHBACH_RUN_PROJECTIONS": "false"}
    sampler = LagSampler(db_url)
    try:
        with running_server(db_url, work_dir, say, label="(g)", data_name=data_name,
                            log_name="server-mixed.log", extra_env=off, workers=WORKERS) as server, \
                running_projector(db_url, work_dir, say, label="(g)", data_name=data_name,
                                  log_name="projector-mixed.log") as projector:
            t0 = time.perf_counter()
            sampler.wait_caught_up(projector)
            say(f"(g) the projection worker reached the head in {time.perf_counter() - t0:.1f}s")
            targets = Targets(donors=donors, tree_size=head)
            run_load(server, targets, clients=clients, seconds=WARM_UP_S, seed=1)
            get_many(server.base_url, ["/healthz"] * (clients * 20), clients=clients)
            sampler.wait_caught_up(projector)
            idle = idle_lag_s(server, sampler, donors, IDLE_RECEIPTS)
            say(f"(g) idle lag of one receipt: median {statistics.median(idle) * 1000:.0f} ms,"
                f" max {max(idle) * 1000:.0f} ms")
            pids = {**api_workers(server.pid), "projector": projector.pid}
            health1 = get_many(server.base_url, ["/healthz"] * HEALTHZ_REQUESTS, clients=clients,
                               meter=CpuMeter(pids=pids)).timed
            say(f"(g) /healthz: {describe(health1)}")
            say(f"(g) measuring: {clients} clients for {seconds:.0f}s, mix {dict(MIX)}")
            sampler.start()
            meter = CpuMeter(pids=pids)
            load = run_load(server, targets, clients=clients, seconds=seconds, seed=100, meter=meter)
            cpu = meter.stop(load.seconds)
            end_of_load = time.perf_counter()
            final = sampler.wait_caught_up(projector)
            samples = sampler.stop()
            say(f"(g) the projections reached the head ({final.head:,}) {final.at - end_of_load:.1f}s"
                f" after the load")
            health2 = get_many(server.base_url, ["/healthz"] * HEALTHZ_REQUESTS, clients=clients,
                               meter=CpuMeter(pids=pids)).timed
            say(f"(g) /healthz again: {describe(health2)}")
    finally:
        sampler.close()
    reads = load.of(lambda k: k not in COMMANDS)
    commands = load.of(lambda k: k in COMMANDS)
    rate = load.count / load.seconds
    say(f"(g) {load.count:,} requests in {load.seconds:.1f}s = {rate:,.0f}/s; {len(load.errors)} errors")
    for kind, xs in load.latencies_ms.items():
        if xs:
            say(f"(g)   {kind}: {describe(Timed(len(xs), load.seconds, xs))}")
    say(f"(g) {cpu} (this process = the {clients} clients and the lag sampler)")
    for error in load.errors[:MAX_ERRORS_SHOWN]:
        say(f"(g) error: {error}")
    lags = lag_seconds(samples)
    events_behind = [s.head - s.projected for s in samples]
    say(f"(g) projection lag over {len(lags):,} samples: p50 {percentile(lags, 50):.2f}s, p99"
        f" {percentile(lags, 99):.2f}s, max {max(lags):.2f}s; events behind p99"
        f" {percentile(events_behind, 99):,.0f}, max {max(events_behind):,}")
    health_rate = max(health1.rate, health2.rate)
    health_p99 = min(percentile(health1.latencies_ms, 99), percentile(health2.latencies_ms, 99))
    unit = f"ms (p99 of GET /healthz, same {clients} clients, {WORKERS} workers)"
    return [
        Figure(name=f"mixed_load_requests_per_s_{WORKERS}_workers", value=rate, unit="requests/s",
               baseline=health_rate,
               baseline_unit=f"requests/s (GET /healthz, same {clients} clients, {WORKERS} workers)",
               target_ratio=THROUGHPUT_RATIO),
        Figure(name="mixed_load_read_p99_ms", value=percentile(reads, 99), unit="ms",
               baseline=health_p99, baseline_unit=unit, target=TARGET_READ_P99_MS, lower_is_better=True),
        Figure(name="mixed_load_command_p99_ms", value=percentile(commands, 99), unit="ms",
               baseline=health_p99, baseline_unit=unit, target=TARGET_COMMAND_P99_MS,
               lower_is_better=True),
        Figure(name="mixed_load_projection_lag_p99_s", value=percentile(lags, 99), unit="s",
               baseline=statistics.median(idle),
               baseline_unit="s (one receipt on the idle system, median)", target=TARGET_LAG_P99_S,
               lower_is_better=True),
        Figure(name="mixed_load_errors", value=len(load.errors), unit="errors", baseline=load.count,
               baseline_unit="requests", target=0, lower_is_better=True),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.mixed_load [--quick] [--json]`: figure (g) alone."""
    from bench.run import run_one

    run_one("mixed", argv, lambda db, work, sizes, say: measure(
        db, work, clients=sizes.clients, seconds=sizes.mixed_seconds, say=say))


if __name__ == "__main__":
    main()
