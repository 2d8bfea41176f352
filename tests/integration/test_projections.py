"""Projection runners: exactly once across a crash, and workers in a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification

from domain.meta import Context
from ledger.bootstrap import CompositionRoot
from projections.bank import Bank
from projections.db import Cursor
from projections.merkle import MerkleTree
from projections.read_models import all_projections
from projections.runner import Runner
from tests.integration.test_demo_ledger import dump

CTX = Context(actor="test", role="finance", request_id="t")


def record_some(services: CompositionRoot, n: int) -> int:
    donor = services.ledger.register_donor(CTX, "h", name="Công ty TNHH Ánh Dương",
                                           kind="business")
    last = 0
    for i in range(n):
        last = services.ledger.record_receipt(
            CTX, "h", donor_id=UUID(donor["id"]), fund="campaign",
            received_on="2021-05-01", channel="cash", amount_vnd=100_000 + i)["position"]
    return int(last)


class Crash(Exception):
    pass


def test_a_crash_mid_batch_applies_nothing_and_the_retry_applies_everything_once(
        services: CompositionRoot) -> None:
    head = record_some(services, 30)
    crash_at = head - 5

    projections = all_projections()
    original = projections[0].apply

    def apply_or_crash(cur: Cursor, event: Any, stored: Notification) -> None:
        if stored.id == crash_at:
            raise Crash(stored.id)
        original(cur, event, stored)

    projections[0].apply = apply_or_crash  # type: ignore[method-assign]
    crashing = Runner(services.db, services.ledger, projections, batch_size=1000)
    with pytest.raises(Crash):
        crashing.run_once()
    assert crashing.position() == 0
    assert dump(services)["public_donations"] == []

    services.runner.catch_up()
    assert services.runner.position() == head
    once = dump(services)
    assert len(once["public_donations"]) == 30
    services.runner.rebuild()
    assert dump(services) == once


def test_projection_worker_in_its_own_process(pg_url: str, tmp_path: Path) -> None:
    from tests.conftest import make_services

    services = make_services(pg_url, tmp_path / "data")
    try:
        env = {**os.environ, "MINHBACH_DATABASE_URL": pg_url,
               "MINHBACH_DATA_DIR": str(tmp_path / "data")}
        worker = subprocess.Popen([sys.executable, "-m", "api.cli", "project"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            head = record_some(services, 10)
            # This process runs no projections: only the worker can move the position.
            if not services.runner.wait_for(head, timeout_s=30):
                worker.terminate()
                pytest.fail(f"the worker did not catch up; it said:\n{worker.communicate()[0]}")
            rows = services.db.query("SELECT COUNT(*) AS n FROM public_donations")
            assert rows[0]["n"] == 10
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    finally:
        services.close()


def test_a_rebuild_fetches_and_decodes_only_what_its_projections_read(
        services: CompositionRoot, monkeypatch: pytest.MonkeyPatch) -> None:
    record_some(services, 12)
    # The head is an event the bank projection doesn't read: the rebuild still reaches it.
    head = int(services.ledger.register_donor(CTX, "h", name="Trần Thị Bình",
                                              kind="individual")["position"])
    services.runner.catch_up()
    live = dump(services)
    recorder, mapper = services.ledger.recorder, services.ledger.mapper
    fetched: list[str] = []
    decoded: list[str] = []
    select, decode = recorder.select_notifications, mapper.to_domain_event

    def select_counted(*args: Any, **kwargs: Any) -> Any:
        found = select(*args, **kwargs)
        fetched.extend(n.topic for n in found)
        return found

    def decode_counted(stored: Any) -> Any:
        decoded.append(stored.topic)
        return decode(stored)

    monkeypatch.setattr(recorder, "select_notifications", select_counted)
    monkeypatch.setattr(mapper, "to_domain_event", decode_counted)

    bank = Runner(services.db, services.ledger, [Bank()])
    assert bank.rebuild() == head
    assert bank.positions() == {"bank": head}
    assert fetched == decoded == ["domain.receipts:Receipt.Recorded"] * 12
    fetched.clear()
    decoded.clear()

    merkle = Runner(services.db, services.ledger, [MerkleTree()], batch_size=5)
    assert merkle.rebuild() == head
    assert len(fetched) == head and decoded == []  # every event, none decoded
    assert dump(services) == live
