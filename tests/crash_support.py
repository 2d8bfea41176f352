"""Machinery for the crash tests: real `minhbach` processes, a private PostgreSQL cluster, and a
seeded burst of idempotent commands whose clients retry until they get a definite answer.

Nothing here sleeps to synchronise: processes are ready when they say so on their output (read
from a pipe, so the wait blocks instead of polling), PostgreSQL is ready when it accepts a
connection (polled with a deadline, which is all PostgreSQL offers), and the fault injector waits
on a condition the clients signal. The only pauses are the clients' back-off between retries and
the random moment of a fault."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import httpx
import psycopg
import pytest

from domain.idempotency import IdempotencyRecord
from ledger.bootstrap import load_areas
from projections.db import Database
from projections.read_models import all_projections
from tests.conftest import IN_CI, make_services

API = "/api/v1"
READY_TIMEOUT_S = 60
REQUEST_TIMEOUT_S = 20
COMMAND_DEADLINE_S = 120  # one command may wait out an API restart or a PostgreSQL restart
MAX_BACKOFF_S = 0.4
FUNDS = ("campaign", "fund-for-the-poor")
CATEGORIES = ("warm-clothing", "tet-gifts")
SEASON = "2021"


def minhbach_command() -> list[str]:
    """The installed `minhbach` script of this interpreter's environment (as deployed)."""
    script = Path(sys.executable).parent / "minhbach"
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def knob(name: str, in_ci: int, locally: int) -> int:
    """A count from the environment (MINHBACH_CRASH_<NAME>), else the CI or the local default."""
    value = os.environ.get(f"MINHBACH_CRASH_{name}")
    return int(value) if value else (in_ci if IN_CI else locally)


# ---- processes ------------------------------------------------------------------------------

@dataclass
class Environment:
    """What every `minhbach` process of one test shares: the store and the data directory."""
    database_url: str
    data_dir: Path
    logs: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINHBACH_")}
        env.update(MINHBACH_DATABASE_URL=self.database_url, MINHBACH_DATA_DIR=str(self.data_dir),
                   MINHBACH_ACCESS_LOG="false", MINHBACH_WAIT_TIMEOUT_S="30", **extra)
        return env

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """A one-off `minhbach` command, to its end."""
        return subprocess.run([*minhbach_command(), *args], env=self.env(), text=True,
                              capture_output=True, timeout=timeout)

    def open_seasons(self) -> None:
        """The tests' seasons (a fresh installation knows none), opened in this process on the
        same store and data directory the `minhbach` processes use."""
        make_services(self.database_url, self.data_dir).close()

    def token(self, name: str, role: str) -> str:
        done = self.run("token", "create", "--name", name, "--role", role)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]


class Managed:
    """A long-running `minhbach` process, ready once a line containing `marker` appears."""

    def __init__(self, env: Environment, name: str, args: list[str], marker: str,
                 **extra_env: str) -> None:
        self.env, self.name, self.args, self.marker = env, name, args, marker
        self.extra_env = extra_env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.died_alone = 0  # exits nobody asked for (seen after a PostgreSQL restart, say)

    @property
    def log(self) -> Path:
        return self.env.logs / f"{self.name}.log"

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        self.starts += 1
        ready = threading.Event()
        with self.log.open("ab") as out:
            out.write(f"\n---- start {self.starts} ----\n".encode())
        proc = subprocess.Popen([*minhbach_command(), *self.args], env=self.env.env(**self.extra_env),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.proc = proc
        threading.Thread(target=self._copy_output, args=(proc, ready), daemon=True,
                         name=f"{self.name}-output").start()
        # The reader sets `ready` on the marker or when the output ends (the process died).
        if not ready.wait(READY_TIMEOUT_S) or proc.poll() is not None:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{self.name} did not start; its log ends:\n{self.tail()}")

    def _copy_output(self, proc: subprocess.Popen[bytes], ready: threading.Event) -> None:
        assert proc.stdout is not None
        stream: IO[bytes] = proc.stdout
        with self.log.open("ab") as out:
            for line in stream:
                out.write(line)
                out.flush()
                if self.marker.encode() in line:
                    ready.set()
        ready.set()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, no goodbye."""
        assert self.proc is not None and self.alive(), f"{self.name} is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def restart_if_dead(self) -> bool:
        if self.alive():
            return False
        self.died_alone += 1
        self.start()
        return True

    def stop(self) -> int:
        """SIGTERM and wait: the orderly shutdown; returns the exit code, 0 if orderly.

        Uvicorn re-raises the signal once it has shut down cleanly, so -SIGTERM counts as 0."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        code = self.proc.returncode
        return 0 if code == -signal.SIGTERM else code

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])


class ApiServer(Managed):
    def __init__(self, env: Environment, port: int, *, run_projections: bool) -> None:
        super().__init__(env, "api", ["serve", "--host", "127.0.0.1", "--port", str(port)],
                         "serving on http",
                         MINHBACH_RUN_PROJECTIONS="true" if run_projections else "false")
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        super().start()
        answer = httpx.get(self.base + "/healthz", timeout=REQUEST_TIMEOUT_S)
        assert answer.status_code == 200, answer.text


class Worker(Managed):
    def __init__(self, env: Environment) -> None:
        super().__init__(env, "worker", ["project"], "following the log")


# ---- a private PostgreSQL cluster -----------------------------------------------------------

@dataclass
class Cluster:
    """A throwaway cluster of this machine's PostgreSQL, ours to stop at will (never the shared
    server on 5432, which other tests use at the same time)."""
    version: str
    name: str
    port: int
    stops: int = 0
    starts: int = 0

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, action: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version,
                               self.name, action, *extra], capture_output=True, text=True,
                              timeout=120)

    def start(self) -> None:
        done = self._ctl("start")
        assert done.returncode == 0, done.stderr
        self.starts += 1
        self.wait_ready()

    def stop_immediately(self) -> None:
        """As if the power went: no checkpoint; recovery replays the WAL at the next start."""
        done = self._ctl("stop", "-m", "immediate")
        assert done.returncode == 0, done.stderr
        self.stops += 1

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                # PostgreSQL has no way to wait for it: ask again shortly, up to the deadline.
                time.sleep(0.05)

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"the crash test needs its own PostgreSQL cluster under CI: {why}")
    pytest.skip(why)


CLUSTER_PREFIX = "mbcrash"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _drop_left_over_clusters(version: str) -> None:
    """Clusters of earlier runs whose test process is gone (killed before it could clean up)."""
    for config in (Path("/etc/postgresql") / version).iterdir():
        owner = config.name.removeprefix(CLUSTER_PREFIX)
        if config.name.startswith(CLUSTER_PREFIX) and owner.isdigit() and not _pid_alive(int(owner)):
            subprocess.run(["pg_dropcluster", "--stop", version, config.name],
                           capture_output=True, timeout=120)


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A cluster of our own, created, started, and dropped afterwards.

    Named for this test process and on a free port, so that two runs at once (two engineers on
    one machine) never stop or drop each other's database."""
    if shutil.which("pg_createcluster") is None or shutil.which("pg_ctlcluster") is None:
        _unavailable("pg_createcluster is not installed (postgresql-common)")
    if os.geteuid() != 0:
        _unavailable("pg_createcluster needs root")
    versions = sorted((p.name for p in Path("/etc/postgresql").iterdir() if p.name.isdigit()),
                      key=int) if Path("/etc/postgresql").is_dir() else []
    if not versions:
        _unavailable("no PostgreSQL version under /etc/postgresql")
    cluster = Cluster(versions[-1], f"{CLUSTER_PREFIX}{os.getpid()}", free_port())
    _drop_left_over_clusters(cluster.version)
    made = subprocess.run(["pg_createcluster", cluster.version, cluster.name,
                           "-p", str(cluster.port), "--", "-A", "trust"],
                          capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        _unavailable(f"pg_createcluster failed: {made.stderr.strip()}")
    try:
        cluster.start()
        yield cluster
    finally:
        subprocess.run(["pg_dropcluster", "--stop", cluster.version, cluster.name],
                       capture_output=True, timeout=120)


# ---- the clients ----------------------------------------------------------------------------

@dataclass
class Ack:
    """A command and the first definite answer it got (2xx or 4xx)."""
    kind: str
    body: dict[str, Any]
    key: str
    status: int
    data: dict[str, Any]
    attempts: int


@dataclass
class Tally:
    """What the clients did, shared between their threads and the fault injector."""
    started: int = 0  # commands begun (first attempts only)
    failed_attempts: int = 0  # attempts without a definite answer, each followed by a retry
    replays: int = 0  # acknowledged commands sent again with the same key and body
    acks: list[Ack] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    changed_answers: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    # No command begins while `started` has reached the gate: the fault injector paces the
    # clients, which would otherwise finish the burst while the first process restarts.
    gate: int | None = None
    aborted: threading.Event = field(default_factory=threading.Event)  # a fault went wrong

    def enter(self) -> None:
        """A command begins, once the gate lets it."""
        with self.changed:
            while self.gate is not None and self.started >= self.gate:
                self.changed.wait()
            self.started += 1
            self.changed.notify_all()

    def open_until(self, gate: int | None) -> None:
        with self.changed:
            self.gate = gate
            self.changed.notify_all()

    def bump(self, what: str) -> None:
        with self.changed:
            setattr(self, what, getattr(self, what) + 1)
            self.changed.notify_all()

    def wait_until(self, what: str, at_least: int, timeout_s: float,
                   done: threading.Event) -> None:
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while getattr(self, what) < at_least and not done.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.changed.wait(remaining)


# The answers each kind of command may definitely get; anything else is a bug.
EXPECTED: dict[str, set[tuple[int, str | None]]] = {
    "donor": {(201, None)},
    "pledge": {(201, None)},
    "receipt": {(201, None)},
    "allocation": {(201, None), (409, "insufficient_funds")},
    "distribution": {(201, None), (409, "insufficient_funds")},
    "reversal": {(201, None), (409, "insufficient_funds"), (409, "already_reversed")},
}
PATHS = {"donor": "/donors", "pledge": "/pledges", "receipt": "/receipts",
         "allocation": "/allocations", "distribution": "/distributions", "reversal": "/reversals"}


class CommandClient:
    """One client: its own HTTP connection, its own seeded plan, sending one command at a time."""

    def __init__(self, base: str, token: str, seed: int, number: int, tally: Tally,
                 communes: list[str]) -> None:
        self.http = httpx.Client(base_url=base + API, timeout=REQUEST_TIMEOUT_S,
                                 headers={"Authorization": f"Bearer {token}"})
        self.rng = random.Random(f"{seed}:{number}")
        self.backoff = random.Random(f"{seed}:{number}:backoff")
        self.number, self.tally, self.communes = number, tally, communes
        self.sent = 0
        self.mine: list[Ack] = []

    # ---- sending ------------------------------------------------------------------------

    def send(self, kind: str, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any], int]:
        """POST until the answer is definite; the same key and body every time."""
        deadline = time.monotonic() + COMMAND_DEADLINE_S
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self.http.post(PATHS[kind], json=body, headers={"Idempotency-Key": key})
                # 5xx: the server (or its database) could not say; 429: not now. Ask again.
                if response.status_code < 500 and response.status_code != 429:
                    return response.status_code, response.json(), attempts
            except httpx.TransportError:
                pass  # refused, reset or cut short: the server died or is restarting
            self.tally.bump("failed_attempts")
            if self.tally.aborted.is_set():
                raise RuntimeError(f"{kind} {key}: given up, the fault injector failed")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{kind} {key}: no definite answer in {COMMAND_DEADLINE_S} s")
            time.sleep(self.backoff.uniform(0.01, min(MAX_BACKOFF_S, 0.02 * attempts)))

    def command(self, kind: str, body: dict[str, Any]) -> Ack:
        self.sent += 1
        key = f"crash-{self.number}-{self.sent}"
        self.tally.enter()
        status, data, attempts = self.send(kind, body, key)
        ack = Ack(kind, body, key, status, data, attempts)
        if (status, None if status < 300 else data.get("code")) not in EXPECTED[kind]:
            self.tally.unexpected.append(f"{kind} {key}: {status} {data}")
        self.mine.append(ack)
        with self.tally.changed:
            self.tally.acks.append(ack)
        return ack

    def replay(self, ack: Ack) -> None:
        """The same command again: it must get its first answer, to the byte."""
        status, data, _ = self.send(ack.kind, ack.body, ack.key)
        self.tally.bump("replays")
        if (status, data) != (ack.status, ack.data):
            self.tally.changed_answers.append(
                f"{ack.kind} {ack.key}: first {ack.status} {ack.data}, then {status} {data}")

    # ---- the plan -----------------------------------------------------------------------

    def ok_any(self) -> list[Ack]:
        return [a for a in self.mine if a.status == 201]

    def run(self, commands: int) -> None:
        rng = self.rng
        donor = self.command("donor", {"name": f"Nhà hảo tâm {self.number}", "kind": "individual"})
        pledges: list[tuple[str, str]] = []  # (pledge id, donor id)
        donors = [donor.data["id"]]
        reversed_ids: set[str] = set()
        while self.sent < commands:
            if rng.random() < 0.08:
                self.replay(rng.choice(self.ok_any()))
            roll = rng.random()
            if roll < 0.08:
                made = self.command("donor", {"name": f"Doanh nghiệp {self.number}-{self.sent}",
                                              "kind": rng.choice(["business", "organisation"])})
                donors.append(made.data["id"])
            elif roll < 0.18:
                who = rng.choice(donors)
                made = self.command("pledge", {"donor_id": who,
                                               "amount_vnd": rng.randrange(5, 50) * 100_000})
                pledges.append((made.data["id"], who))
            elif roll < 0.48:
                open_pledges = [p for p in pledges if p[0] not in reversed_ids]
                body: dict[str, Any] = {"donor_id": rng.choice(donors), "fund": rng.choice(FUNDS),
                                        "received_on": f"2021-03-{rng.randrange(1, 29):02d}",
                                        "channel": rng.choice(["bank", "cash"]),
                                        "amount_vnd": rng.randrange(1, 30) * 100_000}
                if open_pledges and rng.random() < 0.3:
                    body["pledge_id"], body["donor_id"] = rng.choice(open_pledges)
                if body["channel"] == "bank":
                    body["bank_txn_id"] = f"FT{self.number}x{self.sent}"
                self.command("receipt", body)
            elif roll < 0.72:
                self.command("allocation", {
                    "fund": rng.choice(FUNDS), "season": SEASON,
                    "commune": rng.choice(self.communes), "category": rng.choice(CATEGORIES),
                    "amount_vnd": rng.randrange(2, 40) * 100_000,
                    "decision_ref": f"QĐ {self.number}/{self.sent}"})
            elif roll < 0.88:
                # Only into programmes some client has allocated to (else 404, rightly).
                with self.tally.changed:
                    programmes = sorted({(a.body["commune"], a.body["category"])
                                         for a in self.tally.acks
                                         if a.kind == "allocation" and a.status == 201})
                if not programmes:
                    continue
                commune, category = rng.choice(programmes)
                values = [rng.randrange(1, 15) * 50_000 for _ in range(rng.randrange(1, 3))]
                self.command("distribution", {
                    "season": SEASON, "commune": commune,
                    "category": category, "distributed_on": "2021-12-15",
                    "beneficiaries_count": 3 * len(values),
                    "lines": [{"description": f"Quà {n}", "value_vnd": v}
                              for n, v in enumerate(values)]})
            else:
                targets = [a.data["id"] for a in self.mine
                           if a.status == 201 and a.kind in ("pledge", "receipt", "allocation",
                                                             "distribution")
                           and a.data["id"] not in reversed_ids]
                if not targets:
                    continue
                target = rng.choice(targets)
                made = self.command("reversal", {"target_id": target, "reason": "nhập nhầm"})
                if made.status == 201:
                    reversed_ids.add(target)

    def close(self) -> None:
        self.http.close()


def crash_communes(count: int = 3) -> list[str]:
    """A few communes the plan supports (flagged extremely difficult), so that clients contend
    for the same funds and programmes."""
    return [a.code for a in load_areas().communes(None) if a.extremely_difficult][:count]


# ---- faults ---------------------------------------------------------------------------------

Fault = Callable[[], None]


def schedule(rng: random.Random, faults: dict[str, tuple[int, Fault]], commands: int,
             ) -> list[tuple[int, str, Fault]]:
    """Each fault at a random point of the burst, counted in commands begun (between 5 % and
    85 % of them, so that every fault lands while clients are still sending)."""
    names = [name for name, (count, _) in faults.items() for _ in range(count)]
    rng.shuffle(names)
    points = sorted(rng.randint(commands // 20, commands * 85 // 100) for _ in names)
    return [(at, name, faults[name][1]) for at, name in zip(points, names, strict=True)]


def inject(rng: random.Random, plan: list[tuple[int, str, Fault]], tally: Tally,
           done: threading.Event) -> list[str]:
    """Run the faults in order, each once the burst has reached its point; returns what ran."""
    ran = []
    try:
        tally.open_until(plan[0][0] if plan else None)
        for n, (at, name, fault) in enumerate(plan):
            tally.wait_until("started", at, COMMAND_DEADLINE_S, done)
            tally.open_until(plan[n + 1][0] if n + 1 < len(plan) else None)
            # The clients run on; strike at a random moment of the requests now in flight
            # (parsing, deciding, committing, answering).
            time.sleep(rng.uniform(0, 0.03))
            fault()
            ran.append(name)
    except BaseException:
        tally.aborted.set()
        raise
    finally:
        tally.open_until(None)
    return ran


# ---- reading the outcome --------------------------------------------------------------------

CREATION_EVENTS = {"Donor.Registered": "donor", "Pledge.Made": "pledge",
                   "Receipt.Recorded": "receipt", "Allocation.Made": "allocation",
                   "Distribution.Made": "distribution"}


def log_census(database_url: str, data_dir: Path) -> tuple[Counter[tuple[str, UUID]],
                                                           Counter[UUID], Counter[UUID], int]:
    """From the stored events: creations by (kind, id), reversals by reversal id, idempotency
    records by id, and the last position."""
    applied: type = vars(IdempotencyRecord)["Applied"]  # made by @event, unseen by mypy
    services = make_services(database_url, data_dir)
    created: Counter[tuple[str, UUID]] = Counter()
    reversals: Counter[UUID] = Counter()
    records: Counter[UUID] = Counter()
    try:
        recorder, mapper = services.ledger.recorder, services.ledger.mapper
        start = 1
        while notifications := recorder.select_notifications(start=start, limit=1000):
            for n in notifications:
                event = mapper.to_domain_event(n)
                name = type(event).__qualname__
                if event.originator_version == 1 and name in CREATION_EVENTS:
                    created[(CREATION_EVENTS[name], event.originator_id)] += 1
                if name in ("Receipt.Reversed", "Pledge.Cancelled", "Allocation.Reversed",
                            "Distribution.Reversed"):
                    reversals[event.reversal_id] += 1  # type: ignore[attr-defined]
                if isinstance(event, applied):
                    records[event.originator_id] += 1
            start = notifications[-1].id + 1
        head = recorder.max_notification_id() or 0
    finally:
        services.close()
    return created, reversals, records, head


def read_models(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model table's rows, in a stable order, and the projections' positions."""
    db = Database(database_url, pool_size=1)
    try:
        tables = [t for p in all_projections() for t in p.tables] + ["projection_tracking"]
        return {t: sorted((tuple(sorted(r.items())) for r in db.query(f"SELECT * FROM {t}")),
                          key=repr) for t in tables}
    finally:
        db.close()
