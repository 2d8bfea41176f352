"""One-off, not in `make bench` (about 15 minutes): a log of 1,000,000 events on PostgreSQL, made
through the Ledger (bench.generate), then `minhbach audit verify` on it and a full pull of
`GET /api/v1/audit/events` by pages of 1,000, each timed. Issue 3 asks that verification handle a
million events and that auditors can pull a million in minutes; issue 15 asks for the whole
verify in ≤ 120 s and, from a head kept before 10,000 more events, `audit verify --trusted-head`
in ≤ 5 s. So 10,000 more events are then made, and the incremental verify timed.

    .venv/bin/python -m bench.million [EVENTS] [NEW_EVENTS]
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from adapters.tokens import create_token
from bench.generate import Generator
from bench.http_receipts import _minhbach, running_server
from bench.scratch import fresh_database
from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def grow(services: CompositionRoot, generator: Generator, events: int) -> None:
    t0, before = time.perf_counter(), services.ledger.recorder.max_notification_id() or 0
    generator.run(generator.batch.saved_events + events)  # its count runs on from the last run
    made = (services.ledger.recorder.max_notification_id() or 0) - before
    say(f"{made:,} events through the Ledger in {time.perf_counter() - t0:.0f}s")
    t0 = time.perf_counter()
    services.runner.catch_up()
    say(f"every projection caught up in {time.perf_counter() - t0:.0f}s")
    services.tree_heads.publish()


def audit_verify(env: dict[str, str], *args: str) -> None:
    t0 = time.perf_counter()
    done = subprocess.run([_minhbach(), "audit", "verify", *args], env=env, capture_output=True, text=True)
    last = (done.stdout.strip().splitlines() or [done.stderr[-300:]])[-1]
    say(f"minhbach audit verify {' '.join(args)}: exit {done.returncode} in "
        f"{time.perf_counter() - t0:.1f}s: {last}")
    if done.returncode:
        say(f"its standard error ends: {done.stderr[-3000:]}")
    if "a worker process failed" in done.stderr:
        say("(its worker processes failed: it verified in one process)")


def main(events: int, new_events: int) -> None:
    with tempfile.TemporaryDirectory(prefix="minhbach-million-") as tmp, fresh_database("million") as url:
        work, key = Path(tmp), secrets.token_hex(32)
        settings = Settings(database_url=url, data_dir=work / "data", run_projections=False,
                            service_key_hex=key)
        env = {**os.environ, "MINHBACH_DATABASE_URL": url, "MINHBACH_DATA_DIR": str(work / "data"),
               "MINHBACH_SERVICE_KEY_HEX": key}
        kept = work / "kept-head.json"
        # Open throughout: the generator keeps its ledger (its batches, its known aggregates).
        services = build(settings)
        try:
            communes = [a for a in services.areas.all() if a.kind == "commune"]
            generator = Generator(services.ledger, communes)
            grow(services, generator, events)
            token = create_token(services.db, name="auditor", role="auditor")
            kept.write_text(json.dumps(services.tree_heads.latest()))
            audit_verify(env)
            grow(services, generator, new_events)
            audit_verify(env, "--trusted-head", str(kept))
        finally:
            services.close()
        with running_server(url, work, say, label="(m)", data_name="data", log_name="server.log",
                            extra_env={"MINHBACH_SERVICE_KEY_HEX": key,
                                       "MINHBACH_RUN_PROJECTIONS": "false"}) as server:
            t0, after, pulled = time.perf_counter(), 0, 0
            with httpx.Client(base_url=server.base_url, timeout=60,
                              headers={"Authorization": f"Bearer {token}"}) as http:
                while after is not None:
                    page = http.get("/api/v1/audit/events", params={"after": after, "limit": 1000}).json()
                    pulled += len(page["items"])
                    after = page["next_cursor"]
            say(f"GET /api/v1/audit/events: {pulled:,} events in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
