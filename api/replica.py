"""Public and auditor reads from a read replica (`MINHBACH_READ_DATABASE_URL`), with read-your-
writes kept: a read that asks for position P (`?after=P` or `X-Min-Position`) is served by the
replica once the replica has replayed the projections to P, or by the primary when it has not
within `MINHBACH_REPLICA_WAIT_S`. A replica that does not answer sends every read to the
primary, and is logged, counted in /metrics and shown in /readyz.

Each answer says who served it (`X-Read-From: replica|primary`, set by api/web_headers.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ledger.bootstrap import CompositionRoot
from projections.db import ON_REPLICA

log = logging.getLogger(__name__)
FIRST_POLL_S = 0.005


@dataclass
class ReplicaReads:
    """What the replica did for this process: its last known position, and who served reads."""

    position: int = -1  # -1: not known (never read, or the replica failed since)
    error: str | None = None
    served: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, served_by: str, fallback: str | None = None) -> None:
        with self._lock:
            self.served[served_by] += 1
            if fallback:
                self.fallbacks[fallback] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"state": "unavailable" if self.error else "ok", "position": self.position,
                    "error": self.error, "served": dict(self.served),
                    "fallbacks": dict(self.fallbacks)}


def _position(svc: CompositionRoot) -> int:
    replica = svc.db.replica
    assert replica is not None
    with replica.read() as cur:
        return min(svc.runner.positions(cur).values(), default=0)


def _wanted(request: Request) -> int:
    # Validated (and refused when malformed) by the `Consistent` dependency of the same route.
    values = (request.query_params.get("after"), request.headers.get("x-min-position"))
    try:
        return max((int(v) for v in values if v), default=0)
    except ValueError:
        return 0


async def _replica_has(svc: CompositionRoot, reads: ReplicaReads, wanted: int) -> bool:
    deadline = time.monotonic() + svc.settings.replica_wait_s
    pause = FIRST_POLL_S
    while True:
        # Asked every time, even for no position: one short query, and a replica that has
        # gone away is found before a read fails on it.
        try:
            position = await run_in_threadpool(_position, svc)
        except Exception as exc:  # any failure of the replica sends the read to the primary
            if reads.error is None:
                log.warning("the read replica does not answer (%s: %s): reads go to the primary",
                            type(exc).__name__, exc)
            reads.position, reads.error = -1, f"{type(exc).__name__}: {exc}"
            reads.note("primary", "unavailable")
            return False
        if reads.error is not None:
            log.info("the read replica answers again at position %d", position)
        reads.position, reads.error = position, None
        if position >= wanted:
            return True
        if time.monotonic() + pause > deadline:
            reads.note("primary", "behind")
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)


async def read_replica(request: Request) -> None:
    """Route this request's reads to the replica when it can serve them (GET and HEAD only)."""
    svc: CompositionRoot = request.app.state.services
    reads: ReplicaReads | None = getattr(request.app.state, "replica_reads", None)
    if svc.db.replica is None or reads is None or request.method not in ("GET", "HEAD"):
        return
    on_replica = await _replica_has(svc, reads, _wanted(request))
    if on_replica:
        reads.note("replica")
    ON_REPLICA.set(on_replica)
    request.state.read_from = "replica" if on_replica else "primary"


ReadReplica = Depends(read_replica)
