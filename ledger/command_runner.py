"""The one pipeline every command of the ledger goes through.

A command is a small method that checks its input, then hands the runner a `build` function: it
loads the aggregates it needs, lets them decide, and returns the aggregates it changed with its
answer. The runner does everything else, the same way for every command:

- **at most once per Idempotency-Key**: the key's record is saved in the same transaction as the
  command's events, and a repeated request gets the first answer back (or a conflict when the
  request differs);
- **optimistic concurrency with retries**: when another command changed what `build` read, the
  store refuses the whole save and the runner backs off (growing, with jitter) and builds again,
  until a deadline (then `Busy`, a 503);
- **keyed locks**: commands naming the same keys (a fund, a programme, a bank line) take turns in
  this process, so racing requests queue instead of conflicting;
- **group commit**: what arrives together is written in one transaction (ledger/group_commit.py);
- **waking the projections** once the events are recorded.

A command too big for one transaction (a bank statement of 300,000 lines) runs as *steps*, each
one transaction with its own retries; its answer and its Idempotency-Key come with the last.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from domain.errors import Busy, DomainError
from domain.idempotency import IdempotencyRecord
from domain.ids import idempotency_id
from domain.inputs import check_context
from domain.meta import Context
from ledger.answers import ANSWER_VERSION

RETRY_FOR_S = 15.0
MAX_BACKOFF_S = 0.05

R = TypeVar("R", bound=Mapping[str, Any])
PositionOf = Callable[[UUID], int]
Build = Callable[[], tuple[list[Aggregate], R]]
Decorate = Callable[[R, PositionOf], R]


class Store(Protocol):
    """What the runner needs of the application: saving aggregates and finding one."""

    def save(self, *objs: Aggregate) -> list[Recording[UUID]]: ...
    def find_or_none(self, aggregate_id: UUID, cls: type[IdempotencyRecord]) -> IdempotencyRecord | None: ...


# One transaction of a command in steps: its aggregates, and the command's answer when it is the
# last step (None before). The flag says the previous try of this step conflicted, so what the
# read models said may be stale: look in the log.
Step = Callable[[bool], tuple[list[Aggregate], R | None]]


class CommandRunner:
    def __init__(self, store: Store, position_of: PositionOf) -> None:
        self.store = store
        self.position_of = position_of
        self.locks = KeyedLocks()
        # Set by the composition root to wake the projections' runner; nothing to wake in tests
        # that have no read models.
        self.on_recorded: Callable[[], None] = lambda: None

    def run(self, ctx: Context, request_hash: str, build: Build[R],
            decorate: Decorate[R] | None = None, serialise_on: tuple[str, ...] = ()) -> R:
        """Apply a one-transaction command at most once per Idempotency-Key, retrying on write
        conflicts; `decorate` completes the answer from the positions its events got."""
        check_context(ctx)
        with self.locks.hold(serialise_on):
            answer = self._run(ctx, request_hash, build, decorate)
        self.on_recorded()
        return answer

    def run_steps(self, ctx: Context, request_hash: str, steps: Iterable[Step[R]],
                  serialise_on: tuple[str, ...] = (), busy: str = "",
                  done_before: Callable[[], R | None] | None = None,
                  retry_for_s: float = RETRY_FOR_S) -> R:
        """Apply a command made of several transactions (see the module's docstring). A replay
        is looked up first: a step can't be taken back, so a repeated request must not start.
        `done_before` answers (recording nothing) when the log shows the command's effect already,
        made under another key or none."""
        check_context(ctx)
        record_id = _record_id(ctx)
        with self.locks.hold(serialise_on):
            if (earlier := self._replayed(record_id, request_hash)) is not None:
                return earlier
            if done_before is not None and (done := done_before()) is not None:
                return done
            answer: R | None = None
            position = 0
            for step in steps:
                def attempt(retrying: bool, step: Step[R] = step) -> list[Aggregate]:
                    nonlocal answer
                    aggregates, answer = step(retrying)
                    if answer is not None and record_id is not None:
                        aggregates.append(self._record(ctx, record_id, request_hash, answer))
                    return aggregates

                recordings = self._save_retrying(attempt, busy, retry_for_s)
                if recordings:
                    position = recordings[-1].notification.id
                    self.on_recorded()
            if answer is None:
                raise ValueError("a command's last step must give its answer")
            return {**answer, "position": position}  # type: ignore[return-value]

    def _run(self, ctx: Context, request_hash: str, build: Build[R],
             decorate: Decorate[R] | None) -> R:
        record_id = _record_id(ctx)
        deadline = time.monotonic() + RETRY_FOR_S
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            # A key's first use needs no look-up: if it was used before, saving its record
            # conflicts and the next attempt finds and replays it.
            if attempt > 1 and (earlier := self._replayed(record_id, request_hash, decorate)) is not None:
                return earlier
            try:
                aggregates, answer = build()
            except DomainError:
                # A twin with the same key may have been applied while we built: its effect
                # (money spent, say) is what refused us, so answer with its response instead.
                if (earlier := self._replayed(record_id, request_hash, decorate)) is not None:
                    return earlier
                raise
            if record_id is not None:
                aggregates.append(self._record(ctx, record_id, request_hash, answer))
            try:
                recordings = self.store.save(*aggregates)
            except IntegrityError:
                _back_off(attempt)
                continue
            done: R = {**answer, "position": recordings[-1].notification.id}  # type: ignore[assignment]
            return decorate(done, _positions(recordings)) if decorate else done
        raise Busy("the ledger is too busy with the same fund or programme; try again")

    def _save_retrying(self, attempt: Callable[[bool], list[Aggregate]], busy: str,
                       retry_for_s: float) -> list[Recording[UUID]]:
        deadline = time.monotonic() + retry_for_s
        retrying, tries = False, 0
        while True:
            tries += 1
            aggregates = attempt(retrying)
            try:
                return self.store.save(*aggregates) if aggregates else []
            except IntegrityError:
                if time.monotonic() > deadline:
                    raise Busy(busy or "the ledger is too busy; try again") from None
                retrying = True
                _back_off(tries)

    def _replayed(self, record_id: UUID | None, request_hash: str,
                  decorate: Decorate[R] | None = None) -> R | None:
        record = self.store.find_or_none(record_id, IdempotencyRecord) if record_id else None
        if record is None or record_id is None:
            return None
        answer: R = {**record.replay(request_hash),  # type: ignore[assignment]
                     "position": self.position_of(record_id)}
        return decorate(answer, self.position_of) if decorate else answer

    @staticmethod
    def _record(ctx: Context, record_id: UUID, request_hash: str,
                answer: Mapping[str, Any]) -> IdempotencyRecord:
        return IdempotencyRecord(id=record_id, request_hash=request_hash, response=dict(answer),
                                 version=ANSWER_VERSION, meta=ctx.meta())


def _record_id(ctx: Context) -> UUID | None:
    return idempotency_id(ctx.actor, ctx.idempotency_key) if ctx.idempotency_key else None


def _back_off(attempt: int) -> None:
    # Someone changed what we read: wait a growing, jittered moment before building again.
    time.sleep(random.uniform(0, min(MAX_BACKOFF_S, 0.001 * 2**min(attempt, 10))))


def _positions(recordings: list[Recording[UUID]]) -> PositionOf:
    first = {r.domain_event.originator_id: r.notification.id for r in recordings
             if r.domain_event.originator_version == 1}
    return first.__getitem__


class KeyedLocks:
    """One lock per key, taken in a fixed order so that two commands never wait on each other."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, keys: tuple[str, ...]) -> Iterator[None]:
        with self._guard:
            locks = [self._locks.setdefault(k, threading.Lock()) for k in sorted(set(keys))]
        with ExitStack() as stack:
            for lock in locks:
                stack.enter_context(lock)
            yield
