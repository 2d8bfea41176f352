"""One-off, not in `make bench` (about 11 minutes): a log of 1,000,000 events on PostgreSQL, made
through the Ledger (bench.generate), then `minhbach audit verify` on it and a full pull of
`GET /api/v1/audit/events` by pages of 1,000, each timed. Issue 3 asks that verification handle a
million events and that auditors can pull a million in minutes.

    .venv/bin/python -m bench.million [EVENTS]
"""

from __future__ import annotations

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
from ledger.bootstrap import build
from ledger.settings import Settings


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(events: int) -> None:
    with tempfile.TemporaryDirectory(prefix="minhbach-million-") as tmp, fresh_database("million") as url:
        work, key = Path(tmp), secrets.token_hex(32)
        services = build(Settings(database_url=url, data_dir=work / "data", run_projections=False,
                                  service_key_hex=key))
        try:
            t0 = time.perf_counter()
            communes = [a for a in services.areas.all() if a.kind == "commune"]
            made = sum(Generator(services.ledger, communes).run(events).values())
            say(f"{made:,} events through the Ledger in {time.perf_counter() - t0:.0f}s")
            t0 = time.perf_counter()
            services.runner.catch_up()
            say(f"every projection caught up in {time.perf_counter() - t0:.0f}s")
            services.tree_heads.publish()
            token = create_token(services.db, name="auditor", role="auditor")
        finally:
            services.close()
        env = {**os.environ, "MINHBACH_DATABASE_URL": url, "MINHBACH_DATA_DIR": str(work / "data"),
               "MINHBACH_SERVICE_KEY_HEX": key}
        t0 = time.perf_counter()
        done = subprocess.run([_minhbach(), "audit", "verify"], env=env, capture_output=True, text=True)
        last = (done.stdout.strip().splitlines() or [done.stderr[-300:]])[-1]
        say(f"minhbach audit verify: exit {done.returncode} in {time.perf_counter() - t0:.0f}s: {last}")
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
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
