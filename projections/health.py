"""What the background loops of a process went through: errors counted by task, the last one kept.

A loop that catches an error to keep going records it here, so that /metrics counts it and
/readyz shows it: nothing a loop survives goes unseen."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskError:
    task: str
    error: str  # the exception's class: its message may hold data, and this is shown publicly
    at: float  # Unix time


class TaskHealth:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._last: dict[str, TaskError] = {}
        self._failing: set[str] = set()

    def failed(self, task: str, exc: BaseException) -> None:
        with self._lock:
            self._counts[task] = self._counts.get(task, 0) + 1
            self._last[task] = TaskError(task, type(exc).__name__, time.time())
            self._failing.add(task)

    def succeeded(self, task: str) -> None:
        """The task did its work again: its last error stays on record, but it is not failing now."""
        if task in self._failing:
            with self._lock:
                self._failing.discard(task)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def failing(self) -> set[str]:
        with self._lock:
            return set(self._failing)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per task: how many errors, the last one and when, and whether it is failing now."""
        with self._lock:
            return {
                task: {"errors": self._counts[task], "last_error": last.error,
                       "last_error_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last.at)),
                       "failing": task in self._failing}
                for task, last in sorted(self._last.items())
            }
