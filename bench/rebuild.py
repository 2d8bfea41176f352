"""Figure (b): a full rebuild of every projection from the event log, in events per second, by
one worker and by two.

The log is made first (not timed) by bench.generate, through the Ledger of the composition root
(`ledger.bootstrap.build`). Then `services.runner.rebuild()` is timed: it empties the read models and
replays the whole log into them, in one transaction.

Baseline: reading the same log and decoding every event, and nothing else: the recorder's
`select_notifications` in pages of 1,000 (the query the runner itself pages with) and
`mapper.to_domain_event` on every row, measured before, between and after the rebuilds (the
fastest pass counts), with the garbage collector set as the rebuild sets it
(projections/collector.py). The rebuild can't be much faster than that (it skips reading what no
projection reads, and decoding what none needs decoded); the target is half of it.

Then the same rebuild by two workers (`ledger.rebuild`: this process rebuilds one group of
projections, a spawned process the other, each reading the topics its group reads): its target
is 0.35 of the baseline. The spawned worker is started (interpreter, imports, the store opened)
before the timing, as a deployment's `minhbach project` workers are always running, so that a
quick run and a full one measure the same thing; its start-up is said apart.

Each rebuild runs PASSES times, alternating with the other and with baseline passes, each from
vacuumed tables (so that none meets the one before's autovacuum), and the fastest pass of each
counts: on this machine one rebuild's time moved by half within a minute.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from bench.cpu import CpuMeter
from bench.figures import Figure
from bench.generate import Generator
from ledger.bootstrap import CompositionRoot, build
from ledger.rebuild import rebuild_in_parallel, split, started_workers
from ledger.settings import Settings
from projections.collector import fewer_collections

PAGE = 1000
TARGET_RATIO = 0.5
WORKERS = 2
PARALLEL_TARGET_RATIO = 0.35
PASSES = 5  # of each rebuild, alternating, a baseline pass between any two

Say = Callable[[str], None]


def measure(db_url: str, work_dir: Path, *, events: int, say: Say) -> list[Figure]:
    settings = Settings(database_url=db_url, data_dir=work_dir / "rebuild-data", run_projections=False,
                        service_key_hex=secrets.token_hex(32))
    services = build(settings)
    try:
        say(f"(b) generating about {events:,} events (not timed)")
        t0 = time.perf_counter()
        communes = [a for a in services.areas.all() if a.kind == "commune"]
        generator = Generator(services.ledger, communes)
        topics = generator.run(
            events, progress=_every(events // 10, lambda n: say(f"(b)   {n:,} events written"),
                                   running_total=True))
        say(f"(b) commands: {dict(generator.commands)}; refused by the ledger (skipped):"
            f" {dict(generator.skipped) or 'none'}")
        # The generator's events and those of the season it opened first.
        total = services.ledger.recorder.max_notification_id() or 0
        say(f"(b) {total:,} events written in {time.perf_counter() - t0:.0f}s: "
            + ", ".join(f"{t} {n:,}" for t, n in topics.most_common()))
        names = [p.name for p in services.runner.projections]
        groups = split(names, WORKERS)
        say(f"(b) rebuilding all projections: {', '.join(names)}; in {WORKERS} workers (this"
            " process | a spawned one): " + " | ".join(", ".join(g) for g in groups))
        baselines = [_baseline(services, say, "baseline")]
        t0 = time.perf_counter()
        with started_workers(settings, WORKERS - 1) as pool:
            say(f"(b) the spawned worker started (interpreter, imports, opening the store) in"
                f" {time.perf_counter() - t0:.2f}s, before the timing")
            # WORKERS - 1 == 1 spawned worker: this is its pid.
            spawned = {"the spawned worker": pool.submit(os.getpid).result()}
            one: list[float] = []
            parallel: list[float] = []
            for k in range(1, PASSES + 1):
                one.append(_timed(db_url, say, f"pass {k}, 1 worker", {},
                                  lambda _: services.runner.rebuild(), total))
                baselines.append(_baseline(services, say, "baseline again"))
                parallel.append(_timed(
                    db_url, say, f"pass {k}, {WORKERS} workers", spawned,
                    lambda t0: rebuild_in_parallel(
                        settings, names, WORKERS, services=services, pool=pool, done=lambda g, n: say(
                            f"(b)   {', '.join(g)}: {n:,} events in {time.perf_counter() - t0:.2f}s")),
                    total))
                baselines.append(_baseline(services, say, "baseline again"))
    finally:
        services.close()
    if any(n != total for n, _ in baselines):
        raise RuntimeError(f"read {[n for n, _ in baselines]} events of {total}")
    # The fastest pass of each: the machine's speed moves within seconds, and its best is what
    # each can do. (Each rebuild pass starts from vacuumed tables.)
    baseline = max(n / s for n, s in baselines)
    rate, parallel_rate = total / min(one), total / min(parallel)
    say(f"(b) fastest passes: 1 worker {rate:,.0f}/s, {WORKERS} workers {parallel_rate:,.0f}/s"
        f" ({parallel_rate / rate:.2f} × one worker); ratios to the fastest baseline"
        f" ({baseline:,.0f}/s): 1 worker {rate / baseline:.3f}, {WORKERS} workers"
        f" {parallel_rate / baseline:.3f}")
    unit = "events/s (select_notifications by 1000 + to_domain_event)"
    return [Figure(name="projection_rebuild_events_per_s_postgresql", value=rate,
                   unit="events/s", baseline=baseline, baseline_unit=unit,
                   target=TARGET_RATIO * baseline),
            Figure(name=f"projection_rebuild_{WORKERS}_workers_events_per_s_postgresql",
                   value=parallel_rate, unit="events/s", baseline=baseline,
                   baseline_unit=unit, target=PARALLEL_TARGET_RATIO * baseline)]


def _baseline(services: CompositionRoot, say: Say, what: str) -> tuple[int, float]:
    count, seconds = read_and_decode(services)
    say(f"(b) {what} (select_notifications + to_domain_event): {count:,} events in {seconds:.2f}s"
        f" = {count / seconds:,.0f}/s")
    return count, seconds


def _timed(db_url: str, say: Say, what: str, pids: dict[str, int],
           rebuild: Callable[[float], int], total: int) -> float:
    """Seconds one rebuild pass took (`rebuild` is given its start), from vacuumed tables, so
    that it doesn't meet the previous pass's autovacuum; it must reach the log's head."""
    _vacuum(db_url)
    meter = CpuMeter(pids=dict(pids))
    meter.start()
    t0 = time.perf_counter()
    reached = rebuild(t0)
    seconds = time.perf_counter() - t0
    if reached != total:
        raise RuntimeError(f"{what}: rebuilt up to {reached} of {total} events")
    say(f"(b) rebuild, {what}: {total:,} events in {seconds:.2f}s = {total / seconds:,.0f}/s;"
        f" {meter.stop(seconds)}")
    return seconds


def _vacuum(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM")


def read_and_decode(services: CompositionRoot) -> tuple[int, float]:
    """Every event of the log, read page by page and decoded; (count, seconds)."""
    recorder, mapper = services.ledger.recorder, services.ledger.mapper
    # Under the collector's settings of the rebuild (projections/collector.py): like with like.
    with fewer_collections():
        t0 = time.perf_counter()
        count, start = 0, 1
        while page := recorder.select_notifications(start=start, limit=PAGE):
            for notification in page:
                mapper.to_domain_event(notification)
            count += len(page)
            start = page[-1].id + 1
        return count, time.perf_counter() - t0


def _every(step: int, report: Callable[[int], None], *, running_total: bool = False,
           ) -> Callable[[int], None]:
    """A progress callback that reports about every `step` events. It is given either the running
    total (the generator) or the size of each batch (the runner)."""
    state = {"total": 0, "next": max(step, 1)}

    def on_progress(n: int) -> None:
        state["total"] = n if running_total else state["total"] + n
        if state["total"] >= state["next"]:
            report(state["total"])
            state["next"] += max(step, 1)

    return on_progress


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.rebuild [--quick] [--json]`: figure (b) alone."""
    from bench.run import run_one

    run_one("rebuild", argv, lambda db, work, sizes, say: measure(db, work, events=sizes.events, say=say))


if __name__ == "__main__":
    main()
