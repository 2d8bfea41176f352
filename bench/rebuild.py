"""Figure (b): a full rebuild of every projection from the event log, in events per second.

The log is made first (not timed) by bench.generate, through the Ledger of the composition root
(`ledger.bootstrap.build`). Then `services.runner.rebuild()` is timed: it empties the read models and
replays the whole log into them, 1,000 events per transaction.

Baseline: reading the same log and decoding every event, and nothing else: the recorder's
`select_notifications` in pages of 1,000 (the query the runner itself pages with) and
`mapper.to_domain_event` on every row. The rebuild can't be faster than that; the target is half
of it, i.e. the projections' own work may cost at most as much again as reading the log.
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
from ledger.settings import Settings

PAGE = 1000
TARGET_RATIO = 0.5

Say = Callable[[str], None]


def measure(db_url: str, work_dir: Path, *, events: int, say: Say) -> Figure:
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
    finally:
        services.close()
    if rebuilt != total or first[0] != total:
        raise RuntimeError(f"rebuilt {rebuilt} and read {first[0]} events of {total}")
    # The faster of the two baseline passes: the stricter comparison.
    baseline = max(first[0] / first[1], second[0] / second[1])
    return Figure(name="projection_rebuild_events_per_s_postgresql", value=rebuilt / seconds,
                  unit="events/s", baseline=baseline,
                  baseline_unit="events/s (select_notifications by 1000 + to_domain_event)",
                  target=TARGET_RATIO * baseline)


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
