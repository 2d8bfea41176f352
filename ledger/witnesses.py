"""Checkpoints and the witness policy on the ledger's side (DESIGN §5, issue 14 items 1 and 3).

Every signed tree head is also a C2SP checkpoint: the body ``<origin>\\n<size>\\n<base64 root>\\n``
signed with the tree-head key as an Ed25519 note signature under the origin as key name.
Ed25519 is deterministic, so the note is made again from the stored head whenever it is asked for
and nothing more is stored for it. Witnesses' cosignatures are stored in ``cosignatures``; a tree
head is *published* once ``witness_quorum`` configured witnesses have cosigned it (with a quorum
of 0, every signed head is published, as before witnesses existed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.signing import TreeHeads
from domain import checkpoint as cp
from domain.errors import CheckpointUnknown, CosignatureInvalid, WitnessUnknown
from projections.db import Database

HEAD_COLUMNS = "tree_size, root_hash, timestamp, signature"


@dataclass(frozen=True)
class WitnessKey:
    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return cp.cosignature_key_id(self.name, self.public_key)

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "public_key": self.public_key.hex(), "key_id": self.key_id.hex(),
                "vkey": cp.verifier_key(self.name, self.public_key, cp.ALG_COSIGNATURE_V1)}


class Checkpoints:
    def __init__(self, db: Database, heads: TreeHeads, origin: str,
                 witnesses: dict[str, bytes], quorum: int) -> None:
        self.db, self.heads, self.origin, self.quorum = db, heads, origin, quorum
        self.witnesses = {name: WitnessKey(name, key) for name, key in witnesses.items()}
        self.log_public_key = bytes.fromhex(heads.public_key)

    # -- the log's own checkpoints ---------------------------------------------------------

    def body(self, head: dict[str, Any]) -> bytes:
        return cp.checkpoint_body(self.origin, int(head["tree_size"]), bytes.fromhex(head["root_hash"]))

    def note(self, head: dict[str, Any], with_cosignatures: bool = True) -> bytes:
        """The checkpoint of a stored head, signed by the log, then the cosignatures it has."""
        note = cp.sign_note(self.body(head), self.origin, self.heads.key)
        if not with_cosignatures:
            return note
        return cp.add_signatures(note, [c["line"].encode() for c in self.cosignatures(head)])

    def describe(self) -> dict[str, Any]:
        return {"origin": self.origin, "quorum": self.quorum,
                "log_key": cp.verifier_key(self.origin, self.log_public_key),
                "witnesses": [w.describe() for w in self.witnesses.values()]}

    # -- cosignatures ----------------------------------------------------------------------

    def cosignatures(self, head: dict[str, Any]) -> list[dict[str, Any]]:
        """The stored cosignatures of a head by witnesses configured now (a removed witness's
        old cosignatures stay stored but no longer count or show)."""
        rows = self.db.query("SELECT witness, key_id, timestamp, line FROM cosignatures"
                             " WHERE tree_size = ? ORDER BY witness", (int(head["tree_size"]),))
        return [{"witness": r["witness"], "key_id": r["key_id"], "timestamp": int(r["timestamp"]),
                 "line": r["line"]} for r in rows
                if r["witness"] in self.witnesses
                and r["key_id"] == self.witnesses[r["witness"]].key_id.hex()]

    def add(self, note: bytes) -> dict[str, Any]:
        """Store the configured witnesses' cosignatures found in a checkpoint note.

        The note's text must be a checkpoint this ledger signed (same origin, a stored head of
        that size with that root); every signature line other than the log's own must be a
        configured witness's (name and key id) and verify. Nothing is stored unless all do.
        """
        try:
            parsed = cp.parse_note(note)
            checkpoint = cp.parse_checkpoint(parsed.body)
        except cp.NoteError as exc:
            raise CosignatureInvalid(f"not a checkpoint note: {exc}") from exc
        head = self.head_of(checkpoint)
        log_kid = cp.note_key_id(self.origin, self.log_public_key)
        lines = [s for s in parsed.signatures if not (s.name == self.origin and s.key_id == log_kid)]
        if not lines:
            raise CosignatureInvalid("the note carries no cosignature")
        found: list[tuple[WitnessKey, int, bytes]] = []
        for sig in lines:
            witness = self.witnesses.get(sig.name)
            if witness is None or sig.key_id != witness.key_id:
                raise WitnessUnknown(f"{sig.name} (key id {sig.key_id.hex()}) is not a configured"
                                     " witness key")
            try:
                timestamp = cp.verify_cosignature(parsed.body, sig, witness.name, witness.public_key)
            except cp.NoteError as exc:
                raise CosignatureInvalid(f"the cosignature by {witness.name}: {exc}") from exc
            found.append((witness, timestamp, sig.line()))
        with self.db.write() as cur:
            for witness, timestamp, line in found:
                cur.execute("INSERT INTO cosignatures (tree_size, witness, key_id, timestamp, line)"
                            " VALUES (?,?,?,?,?) ON CONFLICT (tree_size, witness) DO NOTHING",
                            (checkpoint.size, witness.name, witness.key_id.hex(), timestamp,
                             line.decode()))
        have = self.cosignatures(head)
        return {"tree_size": checkpoint.size, "accepted": sorted(w.name for w, _, _ in found),
                "cosigned_by": [c["witness"] for c in have], "quorum": self.quorum,
                "published": len(have) >= self.quorum}

    def head_of(self, checkpoint: cp.Checkpoint) -> dict[str, Any]:
        """The stored head a checkpoint stands for, or CheckpointUnknown."""
        if checkpoint.origin != self.origin or checkpoint.extensions:
            raise CheckpointUnknown(f"the checkpoint's origin is not {self.origin!r}")
        head = self.db.query_one(f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE tree_size = ?",
                                 (checkpoint.size,))
        if head is None or head["root_hash"] != checkpoint.root.hex():
            raise CheckpointUnknown(f"this ledger signed no checkpoint of size {checkpoint.size}"
                                    " with that root hash")
        return head

    # -- publication -----------------------------------------------------------------------

    def published(self) -> dict[str, Any] | None:
        """The latest head a quorum of the configured witnesses has cosigned."""
        if self.quorum == 0:
            return self.heads.latest()
        # A witness counts under its configured key only (a rotated key's old lines don't).
        keys = [f"{w.name} {w.key_id.hex()}" for w in self.witnesses.values()]
        marks = ",".join("?" * len(keys))
        return self.db.query_one(
            f"SELECT {HEAD_COLUMNS} FROM tree_heads h WHERE (SELECT COUNT(*) FROM cosignatures c"
            f" WHERE c.tree_size = h.tree_size AND c.witness || ' ' || c.key_id IN ({marks})) >= ?"
            " ORDER BY tree_size DESC LIMIT 1", (*keys, self.quorum))

    def publication(self, head: dict[str, Any] | None) -> dict[str, Any] | None:
        """What the public pages carry beside a head: its checkpoint note and cosignatures."""
        if head is None:
            return None
        cosigs = self.cosignatures(head)
        return {"tree_size": int(head["tree_size"]), "origin": self.origin,
                "checkpoint": self.note(head).decode(), "quorum": self.quorum,
                "cosignatures": [{k: c[k] for k in ("witness", "key_id", "timestamp")} for c in cosigs]}
