"""Figure (b): a full rebuild of every projection from the event log, in events per second.

The log is made first (not timed) by bench.generate, through the Ledger of the composition root
(`ledger.bootstrap.build`). Then `services.runner.rebuild()` is timed: it empties the read models and
replays the whole log into them, 1,000 events per transaction.

Baseline: reading the same log and decoding every event, and nothing else: the recorder's
`select_notifications` in pages of 1,000 (the query the runner itself pages with) and
`mapper.to_domain_event` on every row. The rebuild can't be faster than that; the target is half
of it, i.e. the projections' own work may cost at most as much again as reading the log.

Then the same rebuild by two worker processes (`ledger.rebuild`, one group of projections each,
each reading and decoding the whole log on its own core): its target is 0.35 of the baseline.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

from bench.cpu import CpuMeter
from bench.figures import Figure
from bench.generate import Generator
from ledger.bootstrap import CompositionRoot, build
from ledger.rebuild import rebuild_in_parallel, split
from ledger.settings import Settings

PAGE = 1000
TARGET_RATIO = 0.5
# Each worker reads and decodes the whole log (the baseline's work) and applies its group.
WORKERS = 2
PARALLEL_TARGET_RATIO = 0.35

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
        first = read_and_decode(services)
        say(f"(b) baseline (select_notifications + to_domain_event): {first[0]:,} events in"
            f" {first[1]:.2f}s = {first[0] / first[1]:,.0f}/s")
        say(f"(b) rebuilding all projections: {', '.join(p.name for p in services.runner.projections)}")
        meter = CpuMeter()
        meter.start()
        t0 = time.perf_counter()
        rebuilt = services.runner.rebuild(
            _every(events // 10, lambda n: say(f"(b)   {n:,} events projected,"
                                               f" {n / (time.perf_counter() - t0):,.0f}/s")))
        seconds = time.perf_counter() - t0
        say(f"(b) rebuild: {rebuilt:,} events in {seconds:.1f}s = {rebuilt / seconds:,.0f}/s")
        say(f"(b) rebuild: {meter.stop(seconds)} (this process = the projection runner)")
        second = read_and_decode(services)
        say(f"(b) baseline again: {second[0]:,} events in {second[1]:.2f}s = {second[0] / second[1]:,.0f}/s")
        names = [p.name for p in services.runner.projections]
        say(f"(b) rebuilding in {WORKERS} worker processes: "
            + " | ".join(", ".join(g) for g in split(names, WORKERS)))
        t0 = time.perf_counter()
        parallel = rebuild_in_parallel(settings, names, WORKERS, done=lambda group, n: say(
            f"(b)   {', '.join(group)}: {n:,} events in {time.perf_counter() - t0:.1f}s"))
        parallel_s = time.perf_counter() - t0
        say(f"(b) rebuild, {WORKERS} workers: {parallel:,} events in {parallel_s:.1f}s ="
            f" {parallel / parallel_s:,.0f}/s ({parallel / parallel_s / (rebuilt / seconds):.2f} ×"
            " one worker; start-up of the workers included)")
    finally:
        services.close()
    if rebuilt != total or first[0] != total or parallel != total:
        raise RuntimeError(f"rebuilt {rebuilt} (and {parallel} in parallel) and read {first[0]}"
                           f" events of {total}")
    # The faster of the two baseline passes: the stricter comparison.
    baseline = max(first[0] / first[1], second[0] / second[1])
    unit = "events/s (select_notifications by 1000 + to_domain_event)"
    return [Figure(name="projection_rebuild_events_per_s_postgresql", value=rebuilt / seconds,
                   unit="events/s", baseline=baseline, baseline_unit=unit,
                   target=TARGET_RATIO * baseline),
            Figure(name=f"projection_rebuild_{WORKERS}_workers_events_per_s_postgresql",
                   value=parallel / parallel_s, unit="events/s", baseline=baseline,
                   baseline_unit=unit, target=PARALLEL_TARGET_RATIO * baseline)]


def read_and_decode(services: CompositionRoot) -> tuple[int, float]:
    """Every event of the log, read page by page and decoded; (count, seconds)."""
    recorder, mapper = services.ledger.recorder, services.ledger.mapper
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
