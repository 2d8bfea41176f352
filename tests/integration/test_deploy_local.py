"""`deploy/local.sh` as a newcomer runs it (docs/deploy.md): from nothing, a primary and a
streaming replica of its own, two API workers and a projection worker; the public site is read
from the replica, a write is readable at its position, and a base backup plus the archived WAL
restore into a scratch cluster that `minhbach audit verify` passes. Needs root and Debian's
postgresql-common (pg_createcluster); skipped without them, except under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.crash_support import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local.sh"
API = "/api/v1"


@dataclass
class Deployment:
    base: str
    state: Path
    env: dict[str, str]
    primary_port: int
    replica_port: int

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPT), *args], env=self.env, text=True,
                              capture_output=True, timeout=180)


def _wait_for_tree_head(client: httpx.Client, size: int) -> None:
    """Tree heads are signed every MINHBACH_TREE_HEAD_INTERVAL_S: poll, with a deadline."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        head = client.get(f"{API}/audit/tree-head")
        if head.status_code == 200 and head.json()["tree_size"] >= size:
            return
        time.sleep(0.2)
    pytest.fail(f"no tree head of size {size} within 30 s")


def _logs(state: Path) -> str:
    """The processes' own logs, for a start that failed: they go with the temporary directory."""
    return "".join(f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}"
                   for log in sorted((state / "log").glob("*.log")))


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    if os.geteuid() != 0:
        _unavailable("deploy/local.sh needs root (pg_createcluster, runuser)")
    if shutil.which("pg_createcluster") is None or shutil.which("curl") is None:
        _unavailable("deploy/local.sh needs postgresql-common's pg_createcluster and curl")
    ports = [free_port() for _ in range(4)]
    # A name of this test process's own, so a newcomer's `minhbach_*` clusters are never touched.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINHBACH_")}
    env.update(MINHBACH_LOCAL_NAME=f"mbdeploytest{os.getpid()}",
               MINHBACH_LOCAL_PRIMARY_PORT=str(ports[0]), MINHBACH_LOCAL_REPLICA_PORT=str(ports[1]),
               MINHBACH_LOCAL_API_PORT=str(ports[2]), MINHBACH_LOCAL_DRILL_PORT=str(ports[3]),
               MINHBACH_LOCAL_STATE=str(tmp_path / "state"),
               MINHBACH_BIN=str(Path(sys.executable).parent / "minhbach"))
    made = Deployment(f"http://127.0.0.1:{ports[2]}", tmp_path / "state", env, ports[0], ports[1])
    try:
        started = made.script("start")
        assert started.returncode == 0, started.stdout + started.stderr + _logs(made.state)
        yield made
    finally:
        destroyed = made.script("destroy")
        assert destroyed.returncode == 0, destroyed.stderr
        listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
        assert env["MINHBACH_LOCAL_NAME"] not in listed
        assert not [p for p in Path("/etc/postgresql").glob(f"*/{env['MINHBACH_LOCAL_NAME']}_*")]


def test_local_deployment_serves_the_public_site_from_the_replica(deployment: Deployment) -> None:
    state = deployment.state
    assert {p.name for p in (state / "run").glob("*.pid")} >= {"api.pid", "projector.pid"}
    settings = (state / "minhbach.env").read_text()
    assert f":{deployment.primary_port}/minhbach" in settings
    assert "MINHBACH_READ_DATABASE_URL=postgresql://minhbach:" in settings
    assert f":{deployment.replica_port}/minhbach" in settings
    token = (state / "secrets" / "admin.token").read_text().strip()
    with httpx.Client(base_url=deployment.base, timeout=30) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["replica"]["state"] == "ok"
        page = client.get("/")
        assert page.status_code == 200 and page.headers["x-read-from"] == "replica"

        auth = {"Authorization": f"Bearer {token}"}
        donor = client.post(f"{API}/donors", headers=auth,
                            json={"name": "Nguyễn Văn An", "kind": "individual"})
        assert donor.status_code == 201, donor.text
        made = client.post(f"{API}/receipts", headers=auth, json={
            "donor_id": donor.json()["id"], "fund": "campaign", "received_on": "2021-03-01",
            "channel": "bank", "amount_vnd": 500_000})
        assert made.status_code == 201, made.text
        receipt = made.json()
        # Written by one API worker to the primary, projected by the separate worker, replayed
        # by the replica: the public read at the receipt's position finds it.
        seen = client.get(f"{API}/public/donations/{receipt['reference']}",
                          params={"after": receipt["position"]})
        assert seen.status_code == 200, seen.text
        assert seen.json()["amount_vnd"] == 500_000
        assert seen.headers["x-read-from"] in ("replica", "primary")

        # Backups and the restore drill (docs/deploy.md): a base backup, then one more receipt
        # that only the archived WAL holds; the drill must bring it back, signed.
        backup = deployment.script("backup")
        assert backup.returncode == 0, backup.stderr
        later = client.post(f"{API}/receipts", headers=auth, json={
            "donor_id": donor.json()["id"], "fund": "campaign", "received_on": "2021-03-02",
            "channel": "bank", "amount_vnd": 700_000}).json()
        _wait_for_tree_head(client, later["position"])
    drill = deployment.script("drill")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert f"restored tree head: size {later['position']}," in drill.stdout
    assert "the primary signed the same head" in drill.stdout
    assert f"{later['position']} events" in drill.stdout and "all verified" in drill.stdout

    again = deployment.script("start")  # idempotent: nothing made twice, nothing restarted
    assert again.returncode == 0, again.stderr
    assert "runs (pid" in again.stderr and "creating cluster" not in again.stderr
    assert (state / "secrets" / "admin.token").read_text().strip() == token
