"""Where the CPU went during a measurement (Linux /proc; elsewhere it reports nothing).

The benchmark's clients, the server and PostgreSQL share one machine, so a figure means little
without knowing whether the machine itself was the limit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime + stime


def _postgres_s() -> float:
    """Every PostgreSQL process of the machine (the server is local to the benchmark)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("postgres"):
                    total += _process_s(int(entry.name))
            except OSError:
                continue
    return total


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the machine since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / TICKS_PER_S, sum(values[:8]) / TICKS_PER_S


@dataclass
class CpuMeter:
    """CPU seconds used between start() and stop(): this process, other named processes,
    PostgreSQL, and the whole machine."""

    pids: dict[str, int] = field(default_factory=dict)
    _start: dict[str, float] = field(default_factory=dict)

    def _sample(self) -> dict[str, float]:
        busy, total = _machine()
        sample = {"machine_busy": busy, "machine_total": total, "this process": _process_s(os.getpid()),
                  "postgresql": _postgres_s()}
        sample.update({name: _process_s(pid) for name, pid in self.pids.items()})
        return sample

    def start(self) -> None:
        self._start = self._sample()

    def stop(self, wall_s: float) -> str:
        end = self._sample()
        used = {k: end[k] - self._start.get(k, 0.0) for k in end}
        if not used["machine_total"]:
            return "CPU use unknown (no /proc)"
        cpus = os.cpu_count() or 1
        busy = 100 * used["machine_busy"] / used["machine_total"]
        parts = [f"{name} {used[name] / wall_s:.2f}" for name in ("this process", *self.pids, "postgresql")]
        return (f"machine {busy:.0f}% busy of {cpus} CPUs; CPUs used on average: " + ", ".join(parts))
