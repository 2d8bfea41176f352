"""A real PostgreSQL primary and its streaming replica, made for one test run.

The machine's own PostgreSQL allows no replication connection, so the pair is a cluster of its
own: `initdb` on a free port, `pg_basebackup -R` from it into a second data directory started
on another port, both as the `postgres` user (the server refuses to run as root), both removed
afterwards. `pause()` and `resume()` stop and restart the replica's replay, so that a test can
hold it behind the primary without waiting on time."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql") / (sorted(os.listdir("/usr/lib/postgresql"))[-1]
                                     if Path("/usr/lib/postgresql").exists() else "15") / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)


@dataclass
class StreamingPair:
    base: Path
    primary_port: int
    replica_port: int

    def url(self, port: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/minhbach"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _replica(self, sql: str) -> None:
        with psycopg.connect(self.replica_url, autocommit=True) as conn:
            conn.execute(sql)

    def pause(self) -> None:
        self._replica("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self._replica("SELECT pg_wal_replay_resume()")

    def stop_replica(self) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.base / "replica"), "-m", "fast", "-w", "stop")

    def start_replica(self) -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.base / "replica"), "-l",
                     str(self.base / "replica.log"), "-w", "start")


@contextmanager
def streaming_pair() -> Iterator[StreamingPair]:
    base = Path(tempfile.mkdtemp(prefix="minhbach-replica-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    pair = StreamingPair(base, _free_port(), _free_port())
    primary, replica = base / "primary", base / "replica"
    started: list[Path] = []
    try:
        _as_postgres(str(BIN / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust",
                     "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {pair.primary_port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{base}'\nwal_level = replica\n"
                       "max_wal_senders = 4\nfsync = off\nsynchronous_commit = off\n")
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(primary), "-l", str(base / "primary.log"),
                     "-w", "start")
        started.append(primary)
        with psycopg.connect(pair.url(pair.primary_port).rsplit("/", 1)[0] + "/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE minhbach")
        _as_postgres(str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(pair.primary_port),
                     "-U", "postgres", "-D", str(replica), "-R", "-X", "stream", "--no-sync",
                     "--checkpoint=fast")
        with (replica / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {pair.replica_port}\nhot_standby = on\n")
        pair.start_replica()
        started.append(replica)
        yield pair
    finally:
        for data in reversed(started):
            subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D", str(data),
                            "-m", "immediate", "-w", "stop"] if os.geteuid() == 0 else
                           [str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
