"""The demo's three witnesses (DESIGN §5): `minhbach serve --demo-witnesses`, which `make run` uses.

In a province each partner organisation runs `minhbach witness` on its own machine with its own
key. The demo plays three of them on this one: each is its own `minhbach witness` process with its
own key and state file under `<data dir>/demo-witnesses/<slug>/`, so a newcomer sees tree heads
published only once two of the three have cosigned them, as a province would configure it.
The keys stay across runs, and so do the state files: a witness started again goes on from the
checkpoint it last cosigned (and raises its alarm if the log it meets no longer extends it).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from adapters.signing import key_file
from domain.checkpoint import public_bytes

# (directory, key name): the plan's partner organisations that mobilise the money.
PARTNERS = (
    ("mttq", "mttq.langson.vn/witness"),  # Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh
    ("phunu", "phunu.langson.vn/witness"),  # Hội Liên hiệp Phụ nữ tỉnh
    ("chuthapdo", "chuthapdo.langson.vn/witness"),  # Hội Chữ thập đỏ tỉnh
)
QUORUM = 2
INTERVAL_S = 2.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class DemoWitness:
    name: str
    directory: Path

    @property
    def key_file(self) -> Path:
        return self.directory / "witness.key"

    @property
    def public_hex(self) -> str:
        return public_bytes(key_file(self.key_file)).hex()


def prepare(data_dir: Path) -> list[DemoWitness]:
    """The three witnesses, their keys made on first use (mode 0600, in their own directories)."""
    found = []
    for slug, name in PARTNERS:
        directory = data_dir / "demo-witnesses" / slug
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        found.append(DemoWitness(name, directory))
    return found


def setting(witnesses: list[DemoWitness]) -> str:
    """MINHBACH_WITNESSES for them."""
    return ";".join(f"{w.name}={w.public_hex}" for w in witnesses)


def _die_with_parent() -> None:
    # A witness must not outlive the demo server (Ctrl-C, or the server killed): Linux's
    # parent-death signal; elsewhere the `finally` of `running` stops them.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def running(witnesses: list[DemoWitness], ledger_url: str, log_key_hex: str,
            origin: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Each witness in its own `minhbach witness` process, stopped on leaving."""
    command = [sys.executable, "-m", "api.cli", "witness", "--ledger", ledger_url,
               "--log-key", log_key_hex, "--origin", origin, "--interval", str(INTERVAL_S)]
    procs = [subprocess.Popen([*command, "--name", w.name, "--key", str(w.key_file),
                               "--state", str(w.directory / "witness.json")],
                              preexec_fn=_die_with_parent)
             for w in witnesses]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
