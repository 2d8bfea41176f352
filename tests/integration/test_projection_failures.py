"""A projection that cannot apply an event stops alone, loudly, and the rest of the service says so.

The poison is real code in the real runner on the real database: one projection's handler is
made to raise on one event (or to queue a row the database refuses at the end of the batch)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import eventsourcing.persistence as es
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters.statements import write_csv
from domain.meta import Context
from ledger.bootstrap import TREE_HEADS_TASK, CompositionRoot
from projections.base import handles
from projections.db import Cursor
from projections.donations import Donations
from projections.runner import FOLLOW_TASK, ProjectionFailed, Runner
from tests.conftest import make_services
from tests.helpers import auth, communes
from tests.property.test_rebuild import dump

CTX = Context(actor="test", role="finance", request_id="t")
API = "/api/v1"


class Poison(Exception):
    pass


def poison(runner: Runner, projection: str, topic: str, position: int | None,
           how: str = "raise") -> list[int]:
    """Make one projection's handler for `topic` fail on the event at `position` (on every one
    if None): it raises (`raise`), or it queues the same row twice, which the database refuses
    when the batch is written (`duplicate_row`). Returns the positions the handler was called for."""
    target = next(p for p in runner.projections if p.name == projection)
    original = target.handlers[topic]
    calls: list[int] = []

    def handler(cur: Cursor, event: Any, at: int) -> None:
        calls.append(at)
        if position is None or at == position:
            if how == "raise":
                raise Poison(f"cannot apply {at}")
            original(cur, event, at)
        original(cur, event, at)

    target.handlers[topic] = handler
    return calls


def record(services: CompositionRoot, n: int) -> list[int]:
    """A donor and `n` receipts; the receipts' positions."""
    donor = services.ledger.register_donor(CTX, "", name="Công ty TNHH Ánh Dương", kind="business")
    return [int(services.ledger.record_receipt(
        CTX, "", donor_id=UUID(donor["id"]), fund="campaign", received_on="2021-05-01",
        channel="cash", amount_vnd=1_000_000 + i)["position"]) for i in range(n)]


def wait_until(check: Callable[[], bool], timeout_s: float = 30) -> None:
    """Poll a condition on positions or counters, with a deadline (no sleep as synchronisation)."""
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        pause.wait(0.02)


@pytest.mark.parametrize("how", ["raise", "duplicate_row"])
def test_a_poison_event_stops_only_its_projection(services: CompositionRoot, how: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    positions = record(services, 6)
    bad = positions[2]
    calls = poison(services.runner, "donations", "Receipt.Recorded", bad, how)

    with caplog.at_level(logging.ERROR, logger="projections.runner"), \
            pytest.raises(ProjectionFailed) as failed:
        services.runner.catch_up()

    f = failed.value
    assert (f.name, f.position, f.stopped_at) == ("donations", bad, positions[1])
    assert f.topic.endswith(":Receipt.Recorded")
    at = services.runner.positions()
    assert at.pop("donations") == positions[1]
    assert set(at.values()) == {positions[-1]}, "every other projection applied the whole log"
    rows = services.db.query("SELECT position FROM public_donations ORDER BY position")
    assert [r["position"] for r in rows] == positions[:2]
    [logged] = [r for r in caplog.records if r.name == "projections.runner"
                and r.levelno == logging.ERROR]
    message = logged.getMessage()
    assert "donations" in message and f"position {bad}" in message
    assert "Receipt.Recorded" in message and logged.exc_info is not None

    # Stopped, not retried: later batches leave it alone while the others follow the log.
    tried = len(calls)
    [later] = record(services, 1)
    with pytest.raises(ProjectionFailed):
        services.runner.catch_up()
    assert len(calls) == tried
    assert services.runner.positions()["balances"] == later
    assert services.runner.failure_counts()["donations"] == 1
    assert set(services.runner.failures()) == {"donations"}

    # What needs it says so at once; what it has already applied is still served.
    with pytest.raises(ProjectionFailed):
        services.runner.ensure(later)
    with pytest.raises(ProjectionFailed):
        services.runner.wait_for(later, timeout_s=10)
    assert services.runner.wait_for(positions[1], timeout_s=10)


def test_a_rebuild_that_fails_leaves_the_read_models_as_they_were(services: CompositionRoot) -> None:
    positions = record(services, 5)
    services.runner.catch_up()
    before = dump(services)
    projection = next(p for p in services.runner.projections if p.name == "balances")
    original = projection.handlers["Receipt.Recorded"]
    poison(services.runner, "balances", "Receipt.Recorded", positions[3])

    with pytest.raises(ProjectionFailed) as failed:
        services.runner.rebuild()

    assert (failed.value.name, failed.value.position) == ("balances", positions[3])
    assert failed.value.topic.endswith(":Receipt.Recorded")
    assert dump(services) == before
    projection.handlers["Receipt.Recorded"] = original
    services.runner.rebuild()
    assert dump(services) == before


def test_a_stopped_projection_is_seen_in_readyz_healthz_metrics_and_answers(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = auth(tokens["finance"])
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"

    donor = client.post(f"{API}/donors", json={"name": "Trần Thị Hoa", "kind": "individual"},
                        headers=fin).json()
    bad = int(donor["position"]) + 2
    poison(services.runner, "balances", "Receipt.Recorded", bad)
    receipts = [client.post(f"{API}/receipts", headers=fin, json={
        "donor_id": donor["id"], "fund": "campaign", "received_on": "2021-03-01",
        "channel": "bank", "amount_vnd": 1_000_000}).json() for _ in range(3)]
    head = int(receipts[-1]["position"])
    assert int(receipts[1]["position"]) == bad

    # The follower in the background finds the poison; waiting for the head then says so.
    with pytest.raises(ProjectionFailed):
        services.runner.wait_for(head, timeout_s=30)
    # The others carry on to the head (the failure may be seen before their batch commits).
    wait_until(lambda: all(v == head for n, v in services.runner.positions().items()
                           if n != "balances"))
    at = services.runner.positions()
    assert at.pop("balances") == bad - 1
    assert set(at.values()) == {head}

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    problem = ready.json()
    assert problem["code"] == "not_ready"
    assert "balances" in problem["detail"] and f"position {bad}" in problem["detail"]
    assert [(f["projection"], f["position"]) for f in problem["failed_projections"]] == [
        ("balances", bad)]
    assert problem["projections"]["balances"]["state"] == "stopped"
    assert problem["projections"]["donations"] == {"position": head, "lag_events": 0,
                                                   "state": "running"}

    health = client.get("/healthz")
    assert health.status_code == 200
    assert [f["projection"] for f in health.json()["failed_projections"]] == ["balances"]

    metrics = client.get("/metrics").text
    assert 'minhbach_projection_failed{projection="balances"} 1.0' in metrics
    assert 'minhbach_projection_failed{projection="donations"} 0.0' in metrics
    assert 'minhbach_projection_failures_total{projection="balances"} 1.0' in metrics
    assert f'minhbach_projection_position{{projection="balances"}} {bad - 1}.0' in metrics
    assert f'minhbach_projection_lag_events{{projection="balances"}} {head - bad + 1}.0' in metrics
    assert f'minhbach_projection_position{{projection="donations"}} {head}.0' in metrics

    # An allocation needs the balances to pick its receipts: 503, never a plain 500.
    refused = client.post(f"{API}/allocations", headers=fin, json={
        "fund": "campaign", "season": "2021", "commune": communes(services)[0],
        "category": "warm-clothing", "amount_vnd": 500_000, "decision_ref": "QĐ 1"})
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (refused.json()["code"], refused.json()["projection"], refused.json()["position"]) == (
        "projection_failed", "balances", bad)

    # The other projections keep following the log.
    later = int(client.post(f"{API}/donors", json={"name": "Lê Văn Tám", "kind": "individual"},
                            headers=fin).json()["position"])
    wait_until(lambda: services.runner.positions()["donations"] >= later)
    assert services.runner.positions()["balances"] == bad - 1


def test_a_statement_import_that_needs_a_stopped_projection_is_a_503(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    from tests.api.test_bank import ACCOUNT, statement
    from tests.helpers import post

    post(client, "/bank-accounts", tokens["finance"], ACCOUNT)
    poison(services.runner, "bank", "BankLine.Imported", None)
    data = write_csv(statement([("2021-03-01", 1_000_000, "FT1", "NGUYEN VAN AN", "ung ho")]))
    answer = client.post(f"{API}/bank-accounts/{ACCOUNT['code']}/statements",
                         files={"file": ("sao-ke.csv", data)}, headers=auth(tokens["finance"]))
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert (answer.json()["code"], answer.json()["projection"]) == ("projection_failed", "bank")
    assert answer.json()["topic"].endswith(":BankLine.Imported")


def test_after_a_position_a_stopped_projection_never_reaches_is_a_503(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = auth(tokens["finance"])
    donor = client.post(f"{API}/donors", json={"name": "Trần Thị Hoa", "kind": "individual"},
                        headers=fin).json()
    poison(services.runner, "balances", "Receipt.Recorded", int(donor["position"]) + 1)
    services.settings.wait_timeout_s = 1
    head = int(client.post(f"{API}/receipts", headers=fin, json={
        "donor_id": donor["id"], "fund": "campaign", "received_on": "2021-03-01",
        "channel": "bank", "amount_vnd": 1_000_000}).json()["position"])
    with pytest.raises(ProjectionFailed):
        services.runner.wait_for(head, timeout_s=30)

    for path, headers in ((f"{API}/balances/funds", fin), (f"{API}/public/summary", {})):
        answer = client.get(path, params={"after": head}, headers=headers)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert (answer.json()["code"], answer.json()["projection"]) == (
            "projection_failed", "balances")


def test_readyz_is_503_while_a_projection_lags_too_far(services: CompositionRoot) -> None:
    from api.app import create_app

    services.settings.max_lag_events = 2
    positions = record(services, 3)  # no one follows the log: run_projections is off
    with TestClient(create_app(services=services)) as client:
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert f"{positions[-1]} events behind" in behind.json()["detail"]
        services.runner.catch_up()
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready"
        assert {p["lag_events"] for p in ready["projections"].values()} == {0}


def test_the_database_going_away_is_retried_not_a_projection_failure(
        services: CompositionRoot, caplog: pytest.LogCaptureFixture) -> None:
    head = record(services, 3)[-1]
    recorder = services.ledger.recorder
    select = recorder.select_notifications
    refusals = [es.OperationalError("server closed the connection unexpectedly")] * 2

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if refusals:
            raise refusals.pop()
        return select(*args, **kwargs)

    recorder.select_notifications = flaky  # type: ignore[method-assign]
    stop = threading.Event()
    follower = threading.Thread(target=services.runner.follow, args=(stop,), daemon=True)
    with caplog.at_level(logging.WARNING, logger="projections.runner"):
        follower.start()
        try:
            assert services.runner.wait_for(head, timeout_s=30)
        finally:
            stop.set()
            follower.join(timeout=10)
    assert services.runner.failures() == {}
    assert services.health.counts()[FOLLOW_TASK] == 2
    assert services.health.snapshot()[FOLLOW_TASK]["failing"] is False
    retried = [r.getMessage() for r in caplog.records if r.name == "projections.runner"]
    assert sum("database is unavailable" in m for m in retried) == 2


def test_a_failing_tree_head_publisher_is_logged_counted_and_shown(
        client: TestClient, services: CompositionRoot, caplog: pytest.LogCaptureFixture) -> None:
    services.stop_background()
    services.settings.tree_head_interval_s = 0.01
    publish = services.tree_heads.publish
    broken = [RuntimeError("signing key unreadable")]

    def flaky() -> Any:
        if broken:
            raise broken.pop()
        return publish()

    services.tree_heads.publish = flaky  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="ledger.bootstrap"):
        services.start_projections()
        wait_until(lambda: services.health.counts().get(TREE_HEADS_TASK) == 1
                   and TREE_HEADS_TASK not in services.health.failing())
    assert any("tree head" in r.getMessage() and r.exc_info for r in caplog.records)
    ready = client.get("/readyz").json()
    assert ready["background"][TREE_HEADS_TASK]["last_error"] == "RuntimeError"
    assert ready["background"][TREE_HEADS_TASK]["errors"] == 1
    assert f'minhbach_background_errors_total{{task="{TREE_HEADS_TASK}"}} 1.0' in client.get(
        "/metrics").text


# ---- the command line ------------------------------------------------------------------------


def test_the_rebuild_command_reports_a_poison_event_and_keeps_the_old_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api import cli

    data = tmp_path / "var"
    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        positions = record(services, 4)
        services.runner.catch_up()
        before = dump(services)
    finally:
        services.close()
    bad = positions[2]
    original = Donations.receipt

    @handles("Receipt.Recorded")
    def receipt(self: Donations, cur: Cursor, event: Any, at: int) -> None:
        if at == bad:
            raise Poison(f"cannot apply {at}")
        original(self, cur, event, at)

    monkeypatch.setattr(Donations, "receipt", receipt)
    monkeypatch.setenv("MINHBACH_DATA_DIR", str(data))
    monkeypatch.delenv("MINHBACH_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli.app, ["projections", "rebuild"])

    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert f"position {bad}" in said and "Receipt.Recorded" in said and "Poison" in said
    assert "as they were" in said
    monkeypatch.undo()
    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        assert dump(services) == before
    finally:
        services.close()


@pytest.mark.parametrize("args", [["projections", "rebuild", "balance"], ["project", "nosuch"],
                                  ["projections", "rebuild", "balances", "nosuch"]])
def test_unknown_projection_names_exit_at_once_with_the_valid_ones(
        tmp_path: Path, args: list[str]) -> None:
    env = {**os.environ, "MINHBACH_DATA_DIR": str(tmp_path / "var")}
    env.pop("MINHBACH_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, text=True,
                          capture_output=True, timeout=60)
    assert done.returncode == 2
    said = " ".join(done.stderr.split())
    assert f"unknown projection {args[-1]}" in said
    assert "balances, donations, traces, children, needs, bank, proposals, after_closing, merkle" in said
