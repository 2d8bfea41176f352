"""`minhbach witness`: a partner organisation's witness of the ledger's log (DESIGN §5, issue 14).

It runs with its own Ed25519 key and its own state file. Each round it fetches the ledger's latest
checkpoint (``GET /audit/checkpoint``), checks the log's signature, and, when the tree grew since
the checkpoint it last cosigned, a consistency proof from that one (``GET
/audit/proofs/consistency``); only then it cosigns (C2SP cosignature/v1), writes its new state
atomically, and hands the cosignature back (``POST /audit/cosignatures``).

A checkpoint that does not extend the one it cosigned (smaller, same size with another root, or
a proof that fails) raises the alarm: it is logged, both checkpoints are written to a record
file beside the state file, the state keeps the alarm (so a restart doesn't forget it), the
witness cosigns nothing more for that log, and the command exits non-zero. A ledger that is down
is only a failed round: the state is untouched, and a cosignature not yet delivered is sent again.

On first contact (no state file) the witness cosigns the checkpoint it is shown: trust on first
use, as in tlog-witness (old size 0). The state file is only ever replaced atomically.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import checkpoint as cp
from domain import merkle

log = logging.getLogger(__name__)
STATE_VERSION = 1


class ForkDetected(Exception):
    """The ledger showed a checkpoint that does not extend the one this witness cosigned."""


@dataclass
class Round:
    # "cosigned", "unchanged", "delivered", "waiting" (no checkpoint yet), "ledger_unavailable",
    # "refused" (a checkpoint the log did not sign: no evidence against it, nothing cosigned),
    # "alarm"
    status: str
    tree_size: int | None = None
    detail: str = ""


def write_atomically(path: Path, data: bytes) -> None:
    """Write, fsync, rename over, fsync the directory: after a crash the old or the new file."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Witness:
    def __init__(self, *, name: str, key: Ed25519PrivateKey, state_file: Path, origin: str,
                 log_public_key: bytes, client: httpx.Client, prefix: str = "/api/v1") -> None:
        cp.cosignature_key_id(name, cp.public_bytes(key))  # a bad name fails here, not later
        self.name, self.key, self.state_file, self.origin = name, key, Path(state_file), origin
        self.log_public_key, self.client, self.prefix = log_public_key, client, prefix
        self.state: dict[str, Any] = self._load()

    # -- state -----------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {"version": STATE_VERSION, "origin": self.origin, "checkpoint": None,
                    "cosignature": None, "delivered": True, "alarm": None}
        state: dict[str, Any] = json.loads(self.state_file.read_text("utf-8"))
        if state.get("origin") != self.origin:
            raise ValueError(f"{self.state_file} witnesses {state.get('origin')!r}, not {self.origin!r}")
        return state

    def _save(self) -> None:
        write_atomically(self.state_file, json.dumps(self.state, indent=1, sort_keys=True).encode())

    @property
    def cosigned(self) -> cp.Checkpoint | None:
        """The last checkpoint this witness cosigned (kept across restarts)."""
        note = self.state.get("checkpoint")
        return cp.parse_checkpoint(cp.parse_note(note.encode()).body) if note else None

    @property
    def alarm(self) -> dict[str, Any] | None:
        alarm: dict[str, Any] | None = self.state.get("alarm")
        return alarm

    # -- one round -------------------------------------------------------------------------

    def step(self) -> Round:
        if self.alarm:
            return Round("alarm", detail=str(self.alarm["reason"]))
        try:
            if not self.state.get("delivered", True):
                self._deliver()
                return Round("delivered", self.cosigned.size if self.cosigned else None)
            return self._observe()
        except ForkDetected as exc:
            return Round("alarm", detail=str(exc))
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            log.warning("witness %s: the ledger is unavailable (%s); trying again later",
                        self.name, exc)
            return Round("ledger_unavailable", detail=str(exc))

    def _get(self, path: str, **params: int) -> httpx.Response:
        answer = self.client.get(self.prefix + path, params=params)
        answer.raise_for_status()
        return answer

    def _observe(self) -> Round:
        answer = self.client.get(self.prefix + "/audit/checkpoint")
        if answer.status_code == 404:
            # Up, but no tree head signed yet (a new ledger): nothing to cosign, nothing wrong.
            log.info("witness %s: the ledger has no checkpoint yet", self.name)
            return Round("waiting", detail="no checkpoint yet")
        answer.raise_for_status()
        note = answer.content
        try:
            parsed = cp.verify_note(note, self.origin, self.log_public_key)
            new = cp.parse_checkpoint(parsed.body)
        except cp.NoteError as exc:
            # Not signed by the log: not evidence against it (anyone can send bytes), not cosigned.
            log.error("witness %s: the checkpoint does not verify: %s", self.name, exc)
            return Round("refused", detail=str(exc))
        if new.origin != self.origin:
            return Round("refused", detail=f"origin {new.origin!r}")
        old = self.cosigned
        if old is not None:
            if new.size < old.size:
                self._raise_alarm(note, f"the tree shrank from {old.size} to {new.size}")
            if new.size == old.size:
                if new.root != old.root:
                    self._raise_alarm(note, f"two roots for tree size {new.size}")
                return Round("unchanged", new.size)
            proof = self._get("/audit/proofs/consistency", first=old.size, second=new.size).json()
            hashes = [bytes.fromhex(h) for h in proof.get("proof", [])]
            if (proof.get("first"), proof.get("second")) != (old.size, new.size) or \
                    not merkle.verify_consistency(old.size, new.size, old.root, new.root, hashes):
                self._raise_alarm(note, f"no consistency from size {old.size} to {new.size}")
        line = cp.cosign(parsed.body, self.name, self.key, int(time.time()))
        # Persisted before it is handed out (tlog-witness): a restart never cosigns an older tree.
        self.state.update(checkpoint=self._log_note(parsed), cosignature=line.decode(),
                          delivered=False)
        self._save()
        log.info("witness %s: cosigned tree size %d", self.name, new.size)
        self._deliver()
        return Round("cosigned", new.size)

    def _deliver(self) -> None:
        note = cp.add_signatures(self.state["checkpoint"].encode(), [self.state["cosignature"].encode()])
        answer = self.client.post(self.prefix + "/audit/cosignatures", json={"note": note.decode()})
        if answer.status_code >= 500:
            answer.raise_for_status()
        if answer.status_code >= 400:
            # Refused, not unreachable: said loudly; sending it again would be refused again.
            log.error("witness %s: the ledger refused the cosignature: %s", self.name, answer.text)
        self.state["delivered"] = True
        self._save()

    def _raise_alarm(self, note: bytes, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        record = self.state_file.with_name(f"{self.state_file.stem}.conflict-{stamp}.txt")
        record.write_text(
            f"witness {self.name}: {reason}\n\n# the checkpoint it cosigned\n"
            f"{self.state['checkpoint']}\n# the checkpoint the ledger now shows\n"
            f"{note.decode('utf-8', 'replace')}", "utf-8")
        self.state["alarm"] = {"reason": reason, "record": str(record), "at": stamp,
                               "seen": base64.b64encode(note).decode("ascii")}
        self._save()
        log.critical("witness %s: FORK OR ROLLBACK of %s: %s (both checkpoints in %s); "
                     "cosigning stopped", self.name, self.origin, reason, record)
        raise ForkDetected(reason)

    def _log_note(self, parsed: cp.Note) -> str:
        """The checkpoint with the log's signature only (others' cosignatures are theirs)."""
        kid = cp.note_key_id(self.origin, self.log_public_key)
        own = [s.line() for s in parsed.signatures if s.name == self.origin and s.key_id == kid]
        return (parsed.body + b"\n" + b"".join(own)).decode()

    def run(self, interval_s: float, stop: threading.Event) -> int:
        """Rounds every `interval_s` until stopped; 0, or 3 once the alarm is raised."""
        while True:
            if self.step().status == "alarm":
                return 3
            if stop.wait(interval_s):
                return 0

