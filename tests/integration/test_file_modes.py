"""The SQLite file and its journal are the owner's alone (issue 9 item 8), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_services, make_tokens
from tests.helpers import donor, receipt


@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0o022)  # the usual umask: files 0644 unless asked otherwise
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_file_and_its_journal_are_created_0600(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "fresh" / "ledger.db"
    services = make_services(f"sqlite:///{db}", tmp_path / "data")
    try:
        services.start_projections()
        with TestClient(create_app(services=services)) as client:
            token = make_tokens(services)["finance"]
            for n in range(3):
                receipt(client, token, donor(client, token, f"Người {n}"), 1_000_000)
            services.runner.catch_up()
            files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
            assert all(f.exists() for f in files), "written in WAL mode"
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        services.close()


def test_a_readable_file_left_by_an_older_release_is_tightened(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "ledger.db"
    services = make_services(f"sqlite:///{db}", tmp_path / "data")
    services.close()
    os.chmod(db, 0o644)
    services = make_services(f"sqlite:///{db}", tmp_path / "data")
    try:
        assert _mode(db) == 0o600
    finally:
        services.close()
