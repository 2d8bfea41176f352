"""Concurrent GET clients for the read figures ((d) and (f)), and how their latencies are told."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

import httpx

from bench.cpu import CpuMeter
from bench.figures import percentile
from bench.http_receipts import REQUEST_TIMEOUT_S, Timed, _run_threads, _split


@dataclass(frozen=True)
class Answers:
    timed: Timed
    statuses: list[int]  # in the order of the paths
    bodies: list[bytes]


def get_many(base_url: str, paths: list[str], *, clients: int, headers: dict[str, str] | None = None,
             meter: CpuMeter | None = None, ok: tuple[int, ...] = (200,)) -> Answers:
    """GET every path, split over `clients` threads (one keep-alive connection each), as fast as
    the answers come back. Any status outside `ok` fails the run."""
    shares = _split(len(paths), clients)
    offsets = [sum(shares[:i]) for i in range(clients)]
    statuses = [0] * len(paths)
    bodies = [b""] * len(paths)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        out = latencies[i]
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
            client.get("/healthz")  # open the connection before the clock starts
            start.wait()
            for k in range(offsets[i], offsets[i] + shares[i]):
                t0 = time.perf_counter()
                r = client.get(paths[k], headers=headers)
                out.append((time.perf_counter() - t0) * 1000)
                statuses[k], bodies[k] = r.status_code, r.content
                if r.status_code not in ok:
                    failures.append(f"GET {paths[k]}: {r.status_code} {r.text[:300]}")

    seconds = _run_threads(work, clients, start, meter)
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(paths)} requests failed; first: {failures[0]}")
    timed = Timed(len(paths), seconds, [x for xs in latencies for x in xs],
                  meter.stop(seconds) if meter else "")
    return Answers(timed, statuses, bodies)


def p99(timed: Timed) -> float:
    return percentile(timed.latencies_ms, 99)


def describe(timed: Timed) -> str:
    q = statistics.quantiles(timed.latencies_ms, n=100)
    return (f"{timed.count:,} in {timed.seconds:.1f}s = {timed.rate:,.0f} requests/s; latency p50"
            f" {q[49]:.1f} ms, p90 {q[89]:.1f} ms, p99 {q[98]:.1f} ms, max {max(timed.latencies_ms):.1f} ms")
