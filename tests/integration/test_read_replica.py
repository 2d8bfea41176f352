"""Public reads from a real streaming replica (`MINHBACH_READ_DATABASE_URL`), read-your-writes
kept: a read asking for a position the replica has not replayed is served by the primary, and a
replica that is down sends every read to the primary, counted and shown in /readyz."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.bootstrap import build
from ledger.settings import Settings
from tests import helpers
from tests.conftest import IN_CI, make_tokens
from tests.helpers import API, donor, receipt
from tests.replica_support import BIN, StreamingPair, streaming_pair


@pytest.fixture(scope="module")
def pair() -> Iterator[StreamingPair]:
    if not (BIN / "initdb").exists() or (os.geteuid() == 0 and shutil.which("runuser") is None):
        message = f"no PostgreSQL server binaries at {BIN} to make a replica with"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with streaming_pair() as made:
        yield made


def _paused(pair: StreamingPair) -> None:
    pair.pause()
    # Replay stops at once or after the record it is applying: wait until the server says so.
    with psycopg.connect(pair.replica_url, autocommit=True) as conn:
        while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() != ("paused",):
            pass


def test_public_reads_come_from_the_replica_and_never_miss_a_write(pair: StreamingPair,
                                                                     tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=pair.primary_url,
                        read_database_url=pair.replica_url, run_projections=False,
                        service_key_hex="", wait_timeout_s=10, replica_wait_s=3.0)
    services = build(settings)
    try:
        helpers.open_seasons(services.ledger)
        services.start_projections()
        with TestClient(create_app(services=services)) as client:
            fin = make_tokens(services)["finance"]
            payer = donor(client, fin)
            first = receipt(client, fin, payer, 500_000)
            seen = client.get(f"{API}/public/donations/{first['reference']}",
                              params={"after": first["position"]})
            assert seen.status_code == 200 and seen.headers["x-read-from"] == "replica"

            _paused(pair)
            second = receipt(client, fin, payer, 700_000)
            # The replica stands before it: the primary answers, and the write is there.
            mine = client.get(f"{API}/public/donations/{second['reference']}",
                              params={"after": second["position"]})
            assert mine.status_code == 200, mine.text
            assert mine.headers["x-read-from"] == "primary"
            assert mine.json()["amount_vnd"] == 700_000
            # A read asking for no position is the replica's, which has not replayed it yet.
            listed = client.get(f"{API}/public/donations")
            assert listed.headers["x-read-from"] == "replica"
            assert [d["reference"] for d in listed.json()["items"]] == [first["reference"]]
            page = client.get("/donations")
            assert page.headers["x-read-from"] == "replica" and second["reference"] not in page.text
            pair.resume()
            again = client.get(f"{API}/public/donations/{second['reference']}",
                               params={"after": second["position"]})
            assert again.status_code == 200 and again.headers["x-read-from"] == "replica"

            pair.stop_replica()
            try:
                down = client.get(f"{API}/public/summary")
                assert down.status_code == 200 and down.headers["x-read-from"] == "primary"
                ready = client.get("/readyz").json()
                assert ready["status"] == "ready" and ready["replica"]["state"] == "unavailable"
                metrics = client.get("/metrics").text
                assert "minhbach_replica_up 0.0" in metrics
                assert 'minhbach_replica_fallbacks_total{reason="unavailable"}' in metrics
                assert 'minhbach_replica_fallbacks_total{reason="behind"} 1.0' in metrics
            finally:
                pair.start_replica()
            # Back: the next reads find it again (a pooled connection broken by the restart
            # may fail one more probe first).
            served = [client.get(f"{API}/public/summary").headers["x-read-from"] for _ in range(3)]
            assert served[-1] == "replica"
            assert client.get("/readyz").json()["replica"]["state"] == "ok"
    finally:
        services.close()


def test_a_replica_needs_postgresql_on_both_sides(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL replica"):
        Settings(data_dir=tmp_path, read_database_url="postgresql://x@127.0.0.1/db")
