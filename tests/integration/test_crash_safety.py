"""Nothing acknowledged is lost or doubled when processes and the database die (issue 9, item 10).

The API (`minhbach serve`) and a projection worker (`minhbach project`) run as real processes.
Four clients send a seeded burst of donors, pledges, receipts, allocations, distributions and
reversals, each with its own Idempotency-Key, and retry every command with the same key and
body until the answer is definite (2xx or 4xx). Meanwhile the API and the worker are killed
with SIGKILL at random points of the burst and started again, and (on PostgreSQL) the database
is stopped in immediate mode, as if the power went, and started again.

Afterwards: every acknowledged command is in the log exactly once and nothing else is; a
command sent again gets its first answer; the balances agree with the acknowledged commands to
the đồng; every read model equals its rebuild; and `minhbach audit verify` passes.

Knobs: MINHBACH_CRASH_SEED, MINHBACH_CRASH_KILLS (each of API and worker), MINHBACH_CRASH_PG_RESTARTS,
MINHBACH_CRASH_COMMANDS (per client). Under CI=true at least 10 kills each and 2 restarts."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.ids import idempotency_id
from tests.crash_support import (
    API,
    ApiServer,
    Cluster,
    CommandClient,
    Environment,
    Fault,
    Tally,
    Worker,
    crash_communes,
    free_port,
    inject,
    knob,
    log_census,
    private_cluster,
    read_models,
    schedule,
)

SEED = int(os.environ.get("MINHBACH_CRASH_SEED", "2021"))
CLIENTS = 4
KILLS = knob("KILLS", in_ci=10, locally=3)
PG_RESTARTS = knob("PG_RESTARTS", in_ci=2, locally=1)
COMMANDS = knob("COMMANDS", in_ci=40, locally=25)
TOKEN_NAME = "crash-finance"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with private_cluster() as made:
        yield made


def run_burst(api: ApiServer, token: str, tally: Tally, faults: dict[str, tuple[int, Fault]],
              keep_alive: list[Any]) -> list[str]:
    """The clients' burst with the faults injected into it; then every answer asked for again."""
    rng = random.Random(SEED)
    communes = crash_communes()
    clients = [CommandClient(api.base, token, SEED, n, tally, communes) for n in range(CLIENTS)]
    plan = schedule(rng, faults, CLIENTS * COMMANDS)
    done = threading.Event()
    try:
        with ThreadPoolExecutor(CLIENTS + 1) as pool:
            injected = pool.submit(inject, rng, plan, tally, done)
            sending = [pool.submit(c.run, COMMANDS) for c in clients]
            failures = [e for e in (f.exception() for f in sending) if e is not None]
            done.set()
            ran = injected.result()  # a failed fault (a process that won't start) first
            if failures:
                raise failures[0]
        for process in keep_alive:
            process.restart_if_dead()
        # Every acknowledged command once more, after all the faults: its first answer again.
        for client in clients:
            for ack in client.ok_any():
                client.replay(ack)
    finally:
        for client in clients:
            client.close()
    return ran


def expected_money(tally: Tally) -> dict[str, int]:
    """What the acknowledged commands add up to, reversals taken off."""
    amounts: dict[str, tuple[str, int]] = {}
    for ack in tally.acks:
        if ack.status != 201:
            continue
        if ack.kind in ("receipt", "allocation"):
            amounts[ack.data["id"]] = (ack.kind, int(ack.body["amount_vnd"]))
        elif ack.kind == "distribution":
            amounts[ack.data["id"]] = (ack.kind, sum(int(x["value_vnd"]) for x in ack.body["lines"]))
    totals = Counter({"receipt": 0, "allocation": 0, "distribution": 0})
    for kind, amount in amounts.values():
        totals[kind] += amount
    for ack in tally.acks:
        if ack.kind == "reversal" and ack.status == 201 and ack.body["target_id"] in amounts:
            kind, amount = amounts[ack.body["target_id"]]
            totals[kind] -= amount
    return dict(totals)


def read(http: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    answer = http.get(API + path, params=params)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def check_balances(api: ApiServer, token: str, tally: Tally, head: int) -> None:
    with httpx.Client(base_url=api.base, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        # `after` waits until the projections have applied the last acknowledged position.
        funds = read(http, "/balances/funds", after=head)["items"]
        programmes = read(http, "/balances/programmes", after=head, limit=500)["items"]
    want = expected_money(tally)
    assert all(f["available_vnd"] >= 0 for f in funds), funds
    assert all(p["remaining_vnd"] >= 0 for p in programmes), programmes
    assert sum(f["received_vnd"] for f in funds) == want["receipt"]
    assert sum(f["allocated_vnd"] - f["returned_vnd"] for f in funds) == want["allocation"]
    assert sum(p["allocated_vnd"] - p["returned_vnd"] for p in programmes) == want["allocation"]
    assert sum(p["distributed_vnd"] for p in programmes) == want["distribution"]
    assert want["receipt"] == (sum(f["available_vnd"] for f in funds)
                               + sum(p["remaining_vnd"] for p in programmes) + want["distribution"])


def check_log(env: Environment, tally: Tally, head: int) -> None:
    created, reversals, records, last = log_census(env.database_url, env.data_dir)
    applied = [a for a in tally.acks if a.status == 201]
    assert last == head, "the log goes on past the last acknowledged command"
    want_created = Counter({(a.kind, UUID(a.data["id"])): 1 for a in applied if a.kind != "reversal"})
    assert created == want_created, (
        f"doubled: {[k for k, n in created.items() if n > 1]}; "
        f"lost: {list(want_created - created)}; unacknowledged: {list(created - want_created)}")
    assert reversals == Counter({UUID(a.data["id"]): 1 for a in applied if a.kind == "reversal"})
    assert records == Counter({idempotency_id(TOKEN_NAME, a.key): 1 for a in applied})


def check_rebuild_and_audit(env: Environment) -> None:
    before = read_models(env.database_url)
    verified = env.run("audit", "verify")
    assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
    assert "all verified" in verified.stdout
    rebuilt = env.run("projections", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    after = read_models(env.database_url)
    differ = [t for t in before if before[t] != after[t]]
    assert differ == [], f"read models differ from their rebuild: {differ}"
    assert sum(len(rows) for rows in after.values()) > 0


def check_everything(env: Environment, api: ApiServer, token: str, tally: Tally,
                     stop: list[Any]) -> int:
    assert tally.unexpected == [], "\n".join(tally.unexpected[:10])
    assert tally.changed_answers == [], "\n".join(tally.changed_answers[:10])
    applied = [a for a in tally.acks if a.status == 201]
    assert len(tally.acks) == CLIENTS * COMMANDS and len(applied) > CLIENTS * COMMANDS // 2
    head = max(int(a.data["position"]) for a in applied)
    check_balances(api, token, tally, head)
    for process in stop:
        assert process.stop() == 0, process.tail()
    check_log(env, tally, head)
    check_rebuild_and_audit(env)
    return len(applied)


def report(label: str, tally: Tally, ran: list[str], applied: int, *processes: Any) -> str:
    counts = Counter(ran)
    parts = [f"{label} seed {SEED}: {len(tally.acks)} commands acknowledged ({applied} applied, "
             f"{len(tally.acks) - applied} refused by the money rules), "
             f"{sum(a.attempts > 1 for a in tally.acks)} of them after retries "
             f"({tally.failed_attempts} failed attempts), {tally.replays} replays",
             ", ".join(f"{n} × {name}" for name, n in sorted(counts.items()))]
    parts += [f"{p.name}: {p.starts} starts, {p.kills} kills, {p.died_alone} exits on its own"
              for p in processes]
    return "; ".join(parts)


@pytest.mark.postgres
def test_kills_and_a_database_crash_lose_nothing_on_postgresql(cluster: Cluster,
                                                                tmp_path: Path) -> None:
    url = cluster.create_database(f"crash_{os.getpid()}")
    env = Environment(url, tmp_path / "data", tmp_path)
    migrated = env.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    token = env.token(TOKEN_NAME, "finance")
    env.open_seasons()
    api = ApiServer(env, free_port(), run_projections=False)
    worker = Worker(env)
    api.start()
    worker.start()

    def kill_api() -> None:
        api.restart_if_dead()
        api.kill()
        api.start()

    def kill_worker() -> None:
        worker.restart_if_dead()
        worker.kill()
        worker.start()

    tally = Tally()
    outage = random.Random(f"{SEED}:outage")

    def crash_database() -> None:
        cluster.stop_immediately()
        # Down for a moment, while the clients keep sending (how long is part of the fault).
        time.sleep(outage.uniform(0.2, 1.5))
        cluster.start()
        api.restart_if_dead()
        worker.restart_if_dead()

    faults: dict[str, tuple[int, Fault]] = {"kill -9 api": (KILLS, kill_api),
                                            "kill -9 worker": (KILLS, kill_worker),
                                            "postgres stop -m immediate": (PG_RESTARTS, crash_database)}
    try:
        ran = run_burst(api, token, tally, faults, [api, worker])
        applied = check_everything(env, api, token, tally, [api, worker])
    finally:
        for process in (api, worker):
            if process.alive():
                process.kill()
    assert Counter(ran) == {name: n for name, (n, _) in faults.items()}
    assert api.kills == KILLS and worker.kills == KILLS and cluster.stops == PG_RESTARTS
    print(report("postgresql", tally, ran, applied, api, worker))


def test_kills_lose_nothing_on_sqlite(tmp_path: Path) -> None:
    env = Environment(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "data", tmp_path)
    token = env.token(TOKEN_NAME, "finance")
    env.open_seasons()
    # The embedded deployment: the server follows the log itself.
    api = ApiServer(env, free_port(), run_projections=True)
    api.start()

    def kill_api() -> None:
        api.restart_if_dead()
        api.kill()
        api.start()

    faults: dict[str, tuple[int, Fault]] = {"kill -9 api": (KILLS, kill_api)}
    try:
        tally = Tally()
        ran = run_burst(api, token, tally, faults, [api])
        applied = check_everything(env, api, token, tally, [api])
    finally:
        if api.alive():
            api.kill()
    assert Counter(ran) == {"kill -9 api": KILLS} and api.kills == KILLS
    print(report("sqlite", tally, ran, applied, api))
