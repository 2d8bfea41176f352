"""The `minhbach` command on a real SQLite file: migrate twice, tokens, rebuild."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from api.tokens import find_principal
from tests.conftest import make_services


def minhbach(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINHBACH_DATA_DIR": str(data_dir)}
    env.pop("MINHBACH_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=True)


def test_migrate_twice_token_and_rebuild(tmp_path: Path) -> None:
    data = tmp_path / "var"
    minhbach(data, "migrate")
    minhbach(data, "migrate")
    out = minhbach(data, "token", "create", "--name", "Chị Lan", "--role", "finance").stdout
    token = out.strip().splitlines()[-1]
    assert token.startswith("mb_") and " " not in token

    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        who = find_principal(services.db, token)
        assert who is not None and (who.name, who.role) == ("Chị Lan", "finance")
        stored = services.db.query("SELECT token_hash FROM api_tokens")
        assert token not in repr(stored)
    finally:
        services.close()

    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "token", "create", "--name", "x", "--role", "district"],
        env={**os.environ, "MINHBACH_DATA_DIR": str(data)}, capture_output=True, text=True)
    assert refused.returncode != 0
    rebuilt = minhbach(data, "projections", "rebuild")
    assert "rebuilt from 0 events" in rebuilt.stdout + rebuilt.stderr
