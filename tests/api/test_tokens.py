"""Tokens (issue 9 item 5): revoked at once in every serving process, expiry, last use, listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.tokens import create_token, list_tokens, parse_duration, revoke_token
from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth

URL = f"{API}/balances/funds"


def _refused(client: TestClient, token: str) -> str:
    response = client.get(URL, headers=auth(token))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    detail: str = response.json()["detail"]
    return detail


def test_a_revoked_token_is_refused_at_once(client: TestClient, services: CompositionRoot) -> None:
    token = create_token(services.db, name="Anh Tuấn", role="finance")
    assert client.get(URL, headers=auth(token)).status_code == 200
    assert revoke_token(services.db, "Anh Tuấn")
    # No cache lets it through: the very next request is refused, and so are uploads.
    assert _refused(client, token) == "this token has been revoked"
    made = client.post(f"{API}/donors", headers=auth(token), json={"name": "A", "kind": "individual"})
    assert made.status_code == 401
    assert revoke_token(services.db, "Anh Tuấn")  # twice: still revoked, no error
    assert not revoke_token(services.db, "nobody")
    # A new token for the name works, the old one stays refused.
    fresh = create_token(services.db, name="Anh Tuấn", role="finance")
    assert client.get(URL, headers=auth(fresh)).status_code == 200
    assert _refused(client, token) == "this token is not valid"


def test_an_expired_token_is_refused(client: TestClient, services: CompositionRoot) -> None:
    token = create_token(services.db, name="tạm", role="auditor", expires_in=timedelta(days=30))
    assert client.get(URL, headers=auth(token)).status_code == 200
    (info,) = [i for i in list_tokens(services.db) if i.name == "tạm"]
    assert info.expires_at is not None
    expires = datetime.fromisoformat(info.expires_at) - datetime.fromisoformat(info.created_at)
    assert expires == timedelta(days=30)
    # Move its expiry into the past, as 30 days would.
    with services.db.write() as cur:
        cur.execute("UPDATE api_tokens SET expires_at = ? WHERE name = ?",
                    ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(), "tạm"))
    assert _refused(client, token) == "this token has expired"


def test_the_last_use_is_written_once_a_minute_at_most(client: TestClient, services: CompositionRoot) -> None:
    token = create_token(services.db, name="Chị Hoa", role="finance")

    def last_used() -> str | None:
        return next(i.last_used_at for i in list_tokens(services.db) if i.name == "Chị Hoa")

    assert last_used() is None
    assert client.get(URL, headers=auth(token)).status_code == 200
    first = last_used()
    assert first is not None
    assert datetime.now(UTC) - datetime.fromisoformat(first) < timedelta(minutes=1)
    for _ in range(3):
        assert client.get(URL, headers=auth(token)).status_code == 200
    assert last_used() == first  # not rewritten within the minute


@pytest.mark.parametrize(("text", "wanted"), [("30d", timedelta(days=30)), ("12h", timedelta(hours=12)),
                                              ("90m", timedelta(minutes=90)), ("2w", timedelta(weeks=2))])
def test_durations(text: str, wanted: timedelta) -> None:
    assert parse_duration(text) == wanted


@pytest.mark.parametrize("text", ["", "30", "0d", "-1d", "1y", "30 days", "1e9d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def _cli(data: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINHBACH_DATA_DIR": str(data)}
    env.pop("MINHBACH_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=check)


def test_token_commands(tmp_path: Path) -> None:
    """create --expires-in, list (never the token nor its hash), revoke; on the real CLI."""
    data = tmp_path / "var"
    out = _cli(data, "token", "create", "--name", "Chị Lan", "--role", "finance",
               "--expires-in", "30d").stdout
    token = out.strip().splitlines()[-1]
    assert token.startswith("mb_") and " " not in token
    _cli(data, "token", "create", "--name", "kiểm toán", "--role", "auditor")
    assert _cli(data, "token", "create", "--name", "x", "--role", "auditor", "--expires-in", "soon",
                check=False).returncode == 2

    listed = _cli(data, "token", "list").stdout
    lines = listed.strip().splitlines()
    assert lines[0].split() == ["name", "role", "district", "created", "expires", "last", "used",
                                "revoked"]
    assert len(lines) == 3 and "Chị Lan" in listed and "kiểm toán" in listed
    as_json = [json.loads(line) for line in _cli(data, "token", "list", "--json").stdout.splitlines()]
    assert [t["name"] for t in as_json] == ["Chị Lan", "kiểm toán"]
    lan = as_json[0]
    assert lan["role"] == "finance" and lan["expires_at"] and lan["revoked_at"] is None
    assert set(lan) == {"name", "role", "district", "created_at", "expires_at", "last_used_at",
                        "revoked_at"}
    hashed = __import__("hashlib").sha256(token.encode()).hexdigest()
    for shown in (listed, json.dumps(as_json)):
        assert token not in shown and hashed not in shown

    _cli(data, "token", "revoke", "--name", "Chị Lan")
    revoked = json.loads(_cli(data, "token", "list", "--json").stdout.splitlines()[0])
    assert revoked["revoked_at"] is not None
    missing = _cli(data, "token", "revoke", "--name", "nobody", check=False)
    assert missing.returncode == 1 and "nobody" in missing.stderr
