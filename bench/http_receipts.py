"""Figure (a): receipts recorded per second through the HTTP API, 8 concurrent clients, PostgreSQL.

The service runs as it would in production: `minhbach serve` (uvicorn) in its own process, its
projections following the log in a background thread of that process. The clients are threads of
this process, one httpx.Client (keep-alive connection) each.

Baseline: 20,000 single-row INSERTs into a plain table (at every size), one commit per row, from
the same number of threads, each with its own psycopg connection: what the database alone does
per committed row, with nothing of ours in the way. It runs before and after the receipts, and
the faster pass counts.

Target: 0.05 of the baseline, judged on the ratio (bench.figures). The absolute goal of issue 5,
300 receipts/s, was 0.049 of the 6,091 rows/s baseline of that day; a receipt through the API
(token, validation, the domain's rules, the event and its encoding, group commit, the HTTP
stack, one Python process) may cost at most 20 raw committed INSERTs. Both sides warm up first
(connections open, a few requests each) outside the timing, so quick and full sizes give the
same ratio.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.cpu import CpuMeter
from bench.figures import Figure
from domain import money
from ledger.bootstrap import load_areas

API = "/api/v1"
DONORS = 200
WARM_UP_PER_CLIENT = 10
SERVER_START_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 60
TARGET_RATIO = 0.05
# The baseline's size is the same at every size of the bench (a run of 2,000 rows lasts 0.4 s,
# too short to be steady), and it runs before and after the receipts.
BASELINE_ROWS = 20_000

FUNDS = tuple(money.FUNDS)
DISTRICTS = tuple(a.code for a in load_areas().all() if a.kind == "district")
COAT = {"item": "Áo ấm trẻ em", "unit": "chiếc", "unit_value_vnd": 150_000}

Say = Callable[[str], None]


@dataclass(frozen=True)
class Timed:
    count: int
    seconds: float
    latencies_ms: list[float]
    cpu: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def describe(self) -> str:
        if not self.latencies_ms:
            return f"{self.count} in {self.seconds:.1f}s"
        q = statistics.quantiles(self.latencies_ms, n=100)
        return (f"{self.count} in {self.seconds:.1f}s = {self.rate:,.0f}/s; latency p50 {q[49]:.1f} ms,"
                f" p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms")


def measure(db_url: str, work_dir: Path, *, receipts: int, clients: int, say: Say,
            workers: int = 1) -> Figure:
    say(f"(a) baseline: {BASELINE_ROWS:,} single-row INSERT + COMMIT from {clients} connections")
    first = insert_baseline(db_url, rows=BASELINE_ROWS, clients=clients)
    say(f"(a) baseline: {first.describe()}")
    say(f"(a) baseline: {first.cpu}")
    with running_server(db_url, work_dir, say, workers=workers) as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        donors = register_donors(server.base_url, headers, DONORS)
        say(f"(a) registered {len(donors)} donors; warming up")
        post_receipts(server.base_url, headers, donors, total=WARM_UP_PER_CLIENT * clients,
                      clients=clients)
        say(f"(a) measuring: {receipts:,} POST {API}/receipts from {clients} clients")
        run = post_receipts(server.base_url, headers, donors, total=receipts, clients=clients,
                            meter=CpuMeter(pids={"server": server.pid}))
        say(f"(a) HTTP: {run.describe()}")
        say(f"(a) HTTP: {run.cpu} (this process = the {clients} clients)")
        say(f"(a) the server's projections reached the log's head"
            f" {catch_up_s(server.base_url, db_url):.1f}s after the last response")
    again = insert_baseline(db_url, rows=BASELINE_ROWS, clients=clients)
    say(f"(a) baseline again: {again.describe()}")
    base = max(first, again, key=lambda t: t.rate)  # the faster pass: the stricter comparison
    return Figure(name="http_receipts_per_s_8_clients_postgresql", value=run.rate, unit="receipts/s",
                  baseline=base.rate, baseline_unit="rows/s (raw INSERT+COMMIT, 8 connections)",
                  target_ratio=TARGET_RATIO)


# ---- baseline ---------------------------------------------------------------------------------

BASELINE_DDL = """
CREATE TABLE bench_insert_baseline (
    id bigserial PRIMARY KEY,
    receipt_id uuid NOT NULL,
    donor_id uuid NOT NULL,
    fund text NOT NULL,
    amount_vnd bigint NOT NULL,
    body bytea NOT NULL
)"""
BASELINE_INSERT = ("INSERT INTO bench_insert_baseline (receipt_id, donor_id, fund, amount_vnd, body)"
                   " VALUES (%s, %s, %s, %s, %s)")


def insert_baseline(db_url: str, *, rows: int, clients: int) -> Timed:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(BASELINE_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
    # A body about the size of a stored Receipt.Recorded event.
    body = json.dumps({"note": "x" * 400, "meta": {"actor": "bench", "role": "finance"}}).encode()
    shares = _split(rows, clients)
    conns = [psycopg.connect(db_url) for _ in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        conn, out = conns[i], latencies[i]
        for _ in range(WARM_UP_PER_CLIENT):
            conn.execute(BASELINE_INSERT, (uuid.uuid4(), uuid.uuid4(), "campaign", 1_000_000, body))
            conn.commit()
        start.wait()
        for _ in range(shares[i]):
            t0 = time.perf_counter()
            conn.execute(BASELINE_INSERT, (uuid.uuid4(), uuid.uuid4(), "campaign", 1_000_000, body))
            conn.commit()
            out.append((time.perf_counter() - t0) * 1000)

    meter = CpuMeter()
    try:
        seconds = _run_threads(work, clients, start, meter)
        cpu = meter.stop(seconds)  # before the connections close, while their backends still count
    finally:
        for conn in conns:
            conn.close()
    return Timed(rows, seconds, [x for xs in latencies for x in xs], cpu)


# ---- the server -------------------------------------------------------------------------------

def _minhbach() -> str:
    beside = Path(sys.executable).parent / "minhbach"
    found = str(beside) if beside.exists() else shutil.which("minhbach")
    if not found:
        raise RuntimeError("the `minhbach` command is not installed (make install)")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base_url: str
    token: str
    pid: int


def _environment(db_url: str, data_dir: Path, extra_env: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINHBACH_")}
    # The load comes from one client address: the per-client rate limits would measure themselves.
    env.update(MINHBACH_DATABASE_URL=db_url, MINHBACH_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1",
               MINHBACH_RATE_LIMITS="false")
    env.update(extra_env or {})
    return env


@contextmanager
def running_server(db_url: str, work_dir: Path, say: Say, *, label: str = "(a)",
                   data_name: str = "http-data", log_name: str = "server.log",
                   extra_env: dict[str, str] | None = None, workers: int = 1) -> Iterator[Server]:
    """`minhbach serve` on a free loopback port, with a finance token. `extra_env` adds MINHBACH_*
    settings (e.g. MINHBACH_RUN_PROJECTIONS=false); the data directory is `work_dir / data_name`.
    With `workers` > 1, uvicorn's supervisor (whose pid `Server.pid` is) runs that many processes."""
    data_dir = work_dir / data_name
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _environment(db_url, data_dir, extra_env)
    exe = _minhbach()
    # cwd is the scratch directory, so that no stray .env file changes the settings.
    made = subprocess.run([exe, "token", "create", "--name", "bench", "--role", "finance"],
                          env=env, cwd=work_dir, capture_output=True, text=True, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"`minhbach token create` failed:\n{made.stderr[-2000:]}")
    token = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    log_path = work_dir / log_name
    with open(log_path, "wb") as log:
        server = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", str(workers)],
                                  env=env, cwd=work_dir, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    say(f"{label} server pid {server.pid} on {base_url}, {workers} worker(s) (log {log_path})")
    try:
        _wait_until_up(server, base_url, log_path)
        yield Server(base_url=base_url, token=token, pid=server.pid)
    finally:
        _stop(server)


@dataclass(frozen=True)
class Projector:
    pid: int
    alive: Callable[[], bool]
    log_tail: Callable[[], str]


@contextmanager
def running_projector(db_url: str, work_dir: Path, say: Say, *, label: str, data_name: str,
                      log_name: str, extra_env: dict[str, str] | None = None) -> Iterator[Projector]:
    """`minhbach project` (every projection, and the tree heads) in its own process, on the data
    directory a `running_server` uses. Whoever uses it waits on the positions (and on `alive`)."""
    env = _environment(db_url, work_dir / data_name, extra_env)
    log_path = work_dir / log_name
    with open(log_path, "wb") as log:
        worker = subprocess.Popen([_minhbach(), "project"], env=env, cwd=work_dir, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    say(f"{label} projection worker pid {worker.pid} (log {log_path})")
    try:
        yield Projector(worker.pid, lambda: worker.poll() is None, lambda: _tail(log_path))
    finally:
        _stop(worker)


def _wait_until_up(server: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {SERVER_START_TIMEOUT_S}s:\n{_tail(log_path)}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Its own session: the whole group, so that no stuck uvicorn worker outlives it.
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text("utf-8", errors="replace")[-chars:] if path.exists() else ""


# ---- the clients ------------------------------------------------------------------------------

def register_donors(base_url: str, headers: dict[str, str], n: int) -> list[str]:
    rng = random.Random(1)
    kinds = ("individual", "individual", "individual", "business", "organisation")
    ids = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
        for i in range(n):
            r = client.post(f"{API}/donors", json={
                "name": f"Nhà hảo tâm {i:04d}", "kind": rng.choice(kinds),
                "anonymous": rng.random() < 0.15,
            })
            _expect(r, 201)
            ids.append(r.json()["id"])
    return ids


def receipt_body(rng: random.Random, donor_id: str, n: int) -> dict[str, Any]:
    """A realistic mix: 60% bank transfers (with their bank transaction id), 30% cash, 10% goods;
    one receipt in five earmarked for a district."""
    body: dict[str, Any] = {
        "donor_id": donor_id,
        "fund": rng.choice(FUNDS),
        "received_on": (date(2021, 1, 1) + timedelta(days=rng.randrange(365))).isoformat(),
    }
    roll = rng.random()
    if roll < 0.6:
        body.update(channel="bank", amount_vnd=rng.randrange(1, 500) * 100_000,
                    bank_txn_id=f"FT{uuid.uuid4().hex[:16].upper()}")
    elif roll < 0.9:
        body.update(channel="cash", amount_vnd=rng.randrange(1, 200) * 50_000)
    else:
        body.update(channel="in_kind", in_kind={**COAT, "quantity": rng.randrange(10, 200)})
    if rng.random() < 0.2:
        body["restriction"] = {"district": rng.choice(DISTRICTS)}
    if rng.random() < 0.3:
        body["note"] = f"Ủng hộ chương trình chăm lo trẻ em khó khăn, đợt {n % 12 + 1}"
    return body


def post_receipts(base_url: str, headers: dict[str, str], donors: list[str], *, total: int,
                  clients: int, meter: CpuMeter | None = None) -> Timed:
    """`clients` threads, one keep-alive connection each, posting as fast as answers come back.
    Every request carries its own Idempotency-Key, as a client that retries safely would."""
    shares = _split(total, clients)
    bodies = [[receipt_body(rng, rng.choice(donors), k) for k in range(shares[i])]
              for i in range(clients) for rng in [random.Random(1000 + i)]]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        out = latencies[i]
        with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
            client.get("/healthz")  # open the connection before the clock starts
            start.wait()
            for body in bodies[i]:
                t0 = time.perf_counter()
                r = client.post(f"{API}/receipts", json=body,
                                headers={"Idempotency-Key": str(uuid.uuid4())})
                out.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 201:
                    failures.append(f"{r.status_code} {r.text[:300]}")

    seconds = _run_threads(work, clients, start, meter)
    if failures:
        raise RuntimeError(f"{len(failures)} of {total} receipts failed; first: {failures[0]}")
    return Timed(total, seconds, [x for xs in latencies for x in xs],
                 meter.stop(seconds) if meter else "")


def catch_up_s(base_url: str, db_url: str, timeout_s: float = 300) -> float:
    """How long the server's projections need, after the last answer, to reach the log's head."""
    t0 = time.perf_counter()
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
    head = int(row[0]) if row and row[0] is not None else 0
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        while time.perf_counter() - t0 < timeout_s:
            if client.get("/healthz").json()["projected_position"] >= head:
                break
            time.sleep(0.05)
    return time.perf_counter() - t0


# ---- helpers ----------------------------------------------------------------------------------

def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _run_threads(work: Callable[[int], None], n: int, start: threading.Barrier,
                 meter: CpuMeter | None = None) -> float:
    """Run `work(i)` in n threads released together; seconds from release to the last one done."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as e:
            errors.append(e)
            start.abort()

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    if meter:
        meter.start()
    with suppress(threading.BrokenBarrierError):
        start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return seconds


def _expect(r: httpx.Response, status: int) -> None:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:500]}")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.http_receipts [--quick] [--json]`: figure (a) alone."""
    from bench.run import run_one

    run_one("receipts", argv, lambda db, work, sizes, say: [
        measure(db, work, receipts=sizes.receipts, clients=sizes.clients, say=say)])


if __name__ == "__main__":
    main()
