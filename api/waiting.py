"""Read your writes without holding a thread: `?after=P` waits on the event loop.

One poller per process reads the projected position (a short query in the threadpool) every few
milliseconds while anyone waits, and wakes every waiter whose position is reached: the cost is one
read per tick however many wait, and no worker thread sleeps for a caller. Anonymous callers wait
less and only so many at once, so that strangers cannot use `?after=` to hold the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from projections.health import TaskHealth

log = logging.getLogger(__name__)
TICK_S = 0.005
WATCH_TASK = "position-watch"  # its name in /metrics and /readyz


class Busy(Exception):
    """Too many anonymous callers are waiting already."""


class PositionWatch:
    def __init__(self, read: Callable[[], int], nudge: Callable[[], None],
                 max_anonymous: int, health: TaskHealth) -> None:
        self.read, self.nudge, self.max_anonymous = read, nudge, max_anonymous
        self.health = health
        self.known = 0
        self.anonymous = 0
        self._waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tick = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    async def reached(self, wanted: int, timeout_s: float, *, anonymous: bool) -> bool:
        """Whether the projections reach `wanted` within `timeout_s`; Busy when too many
        anonymous callers wait already."""
        self.known = await run_in_threadpool(self.read)
        if self.known >= wanted:
            return True
        if anonymous and self.anonymous >= self.max_anonymous:
            raise Busy
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # asyncio primitives belong to one loop (tests start several)
            self._loop, self._tick, self._poller = loop, asyncio.Event(), None
        deadline = loop.time() + timeout_s
        self._waiting += 1
        self.anonymous += anonymous
        try:
            if self._poller is None or self._poller.done():
                self._poller = loop.create_task(self._poll())
            while self.known < wanted:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                tick = self._tick
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(tick.wait(), remaining)
            return True
        finally:
            self._waiting -= 1
            self.anonymous -= anonymous

    async def _poll(self) -> None:
        while self._waiting > 0:
            self.nudge()
            await asyncio.sleep(TICK_S)
            try:
                self.known = await run_in_threadpool(self.read)
            except Exception as exc:
                # Waiters time out (503); the failure is logged once while it lasts, and
                # counted in /metrics and /readyz.
                if WATCH_TASK not in self.health.failing():
                    log.warning("?after= waits cannot read the projected position: %s: %s",
                                type(exc).__name__, exc)
                self.health.failed(WATCH_TASK, exc)
                continue
            else:
                self.health.succeeded(WATCH_TASK)
            finally:
                # Wake this tick's waiters and give the next tick a fresh event.
                tick, self._tick = self._tick, asyncio.Event()
                tick.set()
