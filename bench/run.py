"""`minhbach bench [--quick] [--json]`: every figure of BENCHMARKS.md, each next to its baseline.

It needs only the PostgreSQL server the tests use (MINHBACH_BENCH_PG_URL, else
MINHBACH_TEST_PG_URL, else postgresql://postgres@127.0.0.1:5432/test): each figure gets its own
fresh database, dropped at the end, also on error or interruption. Progress goes to stderr; stdout
gets the table, or with --json exactly a JSON list of
`{name, value, unit, baseline, baseline_unit, ratio, target, met}`.
"""

from __future__ import annotations

import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench import (
    http_receipts,
    inclusion_proofs,
    merkle_log,
    mixed_load,
    public_site,
    rebuild,
    statement_import,
    yagi_day,
)
from bench.figures import Figure, json_list, table
from bench.scratch import fresh_database, server_version


@dataclass(frozen=True)
class Sizes:
    receipts: int
    clients: int
    events: int
    tree_events: int  # (c) events verified, and (d) the tree size
    proof_requests: int  # (d)
    statement_lines: int  # (e)
    public_receipts: int  # (f)
    public_requests: int  # (f), per measurement
    mixed_seconds: float  # (g), the load's duration
    yagi_donations: int  # (h)


FULL = Sizes(receipts=20_000, clients=8, events=200_000, tree_events=1_000_000, proof_requests=4_000,
             statement_lines=300_000, public_receipts=1_000_000, public_requests=2_000,
             mixed_seconds=300.0, yagi_donations=300_000)
QUICK = Sizes(receipts=2_000, clients=8, events=20_000, tree_events=100_000, proof_requests=1_000,
              statement_lines=30_000, public_receipts=100_000, public_requests=500,
              mixed_seconds=20.0, yagi_donations=30_000)
Measure = Callable[[str, Path, Sizes, Callable[[str], None]], list[Figure]]


def _say(started: float) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {message}", file=sys.stderr, flush=True)

    return say


def main(quick: bool = False, as_json: bool = False) -> None:
    sizes = QUICK if quick else FULL
    started = time.perf_counter()
    say = _say(started)

    say(f"minhbach bench ({'quick' if quick else 'full'}): {sizes}; Python {platform.python_version()},"
        f" PostgreSQL {server_version()}, {os.cpu_count()} CPUs")
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    figures: list[Figure] = []
    try:
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="minhbach-bench-")))
            http_db = stack.enter_context(fresh_database("http"))
            figures.append(http_receipts.measure(http_db, work, receipts=sizes.receipts,
                                                 clients=sizes.clients, say=say))
            rebuild_db = stack.enter_context(fresh_database("rebuild"))
            figures.extend(rebuild.measure(rebuild_db, work, events=sizes.events, say=say))
            say(f"(c) making {sizes.tree_events:,} synthetic stored events (not timed)")
            events = merkle_log.synthetic_events(sizes.tree_events)
            verified, tree = merkle_log.measure(events, say)
            figures.extend(verified)
            del events
            proofs_db = stack.enter_context(fresh_database("proofs"))
            figures.append(inclusion_proofs.measure(proofs_db, work, tree, requests=sizes.proof_requests,
                                                    clients=sizes.clients, say=say))
            del tree
            statement_db = stack.enter_context(fresh_database("statement"))
            figures.append(statement_import.measure(statement_db, work, lines=sizes.statement_lines,
                                                    say=say))
            public_db = stack.enter_context(fresh_database("public"))
            figures.extend(public_site.measure(public_db, work, receipts=sizes.public_receipts,
                                               clients=sizes.clients, requests=sizes.public_requests,
                                               say=say))
            mixed_db = stack.enter_context(fresh_database("mixed"))
            figures.extend(mixed_load.measure(mixed_db, work, clients=sizes.clients,
                                              seconds=sizes.mixed_seconds, say=say))
            yagi_db = stack.enter_context(fresh_database("yagi"))
            figures.extend(yagi_day.measure(yagi_db, work, donations=sizes.yagi_donations,
                                            clients=sizes.clients, say=say))
    except (KeyboardInterrupt, SystemExit):
        say("interrupted: the server is stopped and the scratch databases are dropped")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    say(f"done in {time.perf_counter() - started:.0f}s; scratch databases dropped")
    print(json_list(figures) if as_json else table(figures), flush=True)


def run_one(label: str, argv: Sequence[str] | None, measure: Measure) -> None:
    """`python -m bench.X [--quick] [--json]`: one module's figures alone, in a scratch database
    of their own."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m bench ({label})")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    say = _say(time.perf_counter())
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        with tempfile.TemporaryDirectory(prefix="minhbach-bench-") as work, fresh_database(label) as db_url:
            figures = measure(db_url, Path(work), sizes, say)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(json_list(figures) if args.json else table(figures), flush=True)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind normally, so the server is stopped and the scratch databases are dropped.
    raise SystemExit(128 + signum)
