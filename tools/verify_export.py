#!/usr/bin/env python3
"""Check a Minh Bạch log export (`minhbach audit export`) offline, without Minh Bạch's code.

    python verify_export.py FILE [--public-key HEX] [--witness NAME=HEX ... [--quorum N]]
                                 [--leaf LEAF.json ...]

Requirements: Python 3.9 or later (standard library only) plus the `cryptography` package for
Ed25519 (`pip install cryptography`). Nothing else: this file imports nothing from Minh Bạch, so
an auditor can read it in full and run it on their own machine. The specification it follows is
docs/verifiable-log.md ("The verifiable log"; §7 for the two export formats).

Pass `--public-key` with your own copy of the log's public key (from `/audit/public-key`, kept
from earlier or compared with other people's). Without it the key written inside the file is
used, which only proves that whoever wrote the file also signed it.

Two kinds of file are accepted, told apart by the header's `format`:

- `minhbach-log/2`, the full export for auditors (`minhbach audit export`): every stored event;
- `minhbach-public-log/2`, the public export (`minhbach audit export --public`, or
  `/api/v1/public/export`): every public leaf (`{position, topic, public, sealed}`), no event.

What is checked, streaming the file once (memory: O(log n) for the Merkle tree, plus one small
entry per receipt, allocation, distribution, pledge, need and programme):

1. the header (format, Ed25519 key, signed tree head);
2. the tree head's Ed25519 signature over the canonical JSON of {tree_size, root_hash, timestamp};
3. every line:
   - full export: exactly the five stored-event fields (plus an optional `leaf_index`, which
     must run 0, 1, 2, …), valid types, standard padded base64 for `state`;
   - public export: exactly `leaf` (base64 of canonical JSON with exactly `position`, `topic`,
     `public`, `sealed`, its position the line's), `leaf_index` (0, 1, 2, … without gaps) and
     `position`;
   positions strictly increasing; as many lines as the head's `tree_size`;
4. the Merkle root (RFC 9162) of the leaves equals the head's `root_hash`. In a full export each
   leaf is rebuilt from its event: its `public` part from the table of what each event type
   publishes (docs/verifiable-log.md §1.2, copied below in `public_facts`) and its `sealed`
   digest from the stored bytes, so the root only matches if every public part is exactly what
   its event implies and every sealed digest is that of the event;
5. full export only, the money, from the events' own content (each `state` is the JSON the
   eventsourcing library stored; UUID-typed attributes appear as
   {"_type_": "uuid_hex", "_data_": "<32 hex>"} and datetimes as
   {"_type_": "datetime_iso", "_data_": "<ISO 8601>"}):
   - trial balance: money received (Receipt.Recorded − reversed receipts) = funds available
     + programmes' remaining money + money distributed;
   - Σ Receipt.Drawn = Σ Programme.FundsAllocated = Σ Allocation.Made, allocation by
     allocation; Σ Receipt.Returned = Σ Programme.AllocationReturned; Σ Distribution.Made
     = Σ Programme.SupportDistributed, distribution by distribution;
   - no receipt, fund (per restriction) or programme ever goes below zero, in log order.
   A public export holds the public facts, not the events: the money figures it allows are
   recomputed by tools/public_figures.py; the trial balance needs the full export.
6. when the head comes with its C2SP checkpoint (a ledger with witnesses): the checkpoint names
   the head's size and root and carries the log's signature; with `--witness NAME=HEX` (your
   copies of the witnesses' keys) at least `--quorum` of them cosigned it (cosignature/v1);
7. each `--leaf LEAF.json` (either kind of file): the leaf one was given, e.g. a receipt's from
   `/api/v1/public/donations/{reference}` (that whole answer: its `leaf`, and the `leaf_index`
   and `leaf_hash` of its `inclusion_proof`), a line of a public export, or the leaf bytes
   themselves, is in the signed tree: the line at its position has its leaf hash (and its leaf
   index). Together with 2 and 4, this proves the leaf's facts are in the log the head signs.

Exit status: 0 when everything holds, 1 when anything fails (the first failure is named with its
line and log position), 2 for a usage error (a bad argument, an unreadable --leaf file).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
import time
import uuid
import zlib
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, BinaryIO

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover - depends on the auditor's machine
    sys.stderr.write("verify_export.py needs the `cryptography` package for Ed25519: "
                     "pip install cryptography\n")
    sys.exit(2)

FORMAT = "minhbach-log/2"
PUBLIC_FORMAT = "minhbach-public-log/2"
PUBLIC_FIELDS = ("leaf", "leaf_index", "position")
LEAF_KEYS = ("position", "public", "sealed", "topic")
LEAF_FIELDS = ("originator_id", "originator_version", "position", "state", "topic")
OPTIONAL_FIELDS = ("leaf_index",)
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_SHOWN = 50

# Merkle tree (RFC 9162 §2.1) -------------------------------------------------------------------


def canonical_json(obj: object) -> bytes:
    """docs/verifiable-log.md §1.1: sorted keys, no white space, non-ASCII as itself, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The roots of the perfect subtrees of the leaves seen so far (at most 41 hashes)."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []  # (level, hash), highest level first

    def append(self, leaf: bytes) -> None:
        level, node = 0, leaf
        while self.stack and self.stack[-1][0] == level:
            node = node_hash(self.stack.pop()[1], node)
            level += 1
        self.stack.append((level, node))
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far: the perfect subtrees folded from the right."""
        if not self.stack:
            return hashlib.sha256(b"").digest()
        node = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            node = node_hash(left, node)
        return node


# Reading the file ------------------------------------------------------------------------------


class Bad(Exception):
    """A line that cannot be used as it is."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise Bad(f"the key {key!r} appears twice")
        obj[key] = value
    return obj


def _no_constants(name: str) -> None:
    raise Bad(f"{name} is not allowed")


LINE_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def parse_line(raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Bad(f"not UTF-8 ({e.reason} at byte {e.start})") from None
    text = text[:-1] if text.endswith("\n") else text
    if not text.strip():
        raise Bad("empty line")
    try:
        obj = LINE_DECODER.decode(text)
    except ValueError as e:
        raise Bad(f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise Bad("not a JSON object")
    return obj


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_head(head: object) -> dict[str, Any]:
    if not isinstance(head, dict):
        raise Bad("the header has no tree_head object")
    missing = [k for k in ("tree_size", "root_hash", "timestamp", "signature") if k not in head]
    if missing:
        raise Bad(f"the tree head lacks {', '.join(missing)}")
    if not is_int(head["tree_size"]) or head["tree_size"] < 0:
        raise Bad("the tree head's tree_size is not a whole number")
    if not isinstance(head["root_hash"], str) or not HEX64.fullmatch(head["root_hash"]):
        raise Bad("the tree head's root_hash is not 64 lower-case hex digits")
    if not is_int(head["timestamp"]):
        raise Bad("the tree head's timestamp is not an integer")
    if not isinstance(head["signature"], str) or not re.fullmatch(r"[0-9a-fA-F]{128}", head["signature"]):
        raise Bad("the tree head's signature is not 64 bytes of hex")
    return head


def leaf_of(event: dict[str, Any]) -> tuple[int, str, int, str, bytes]:
    """Check one event line; return (position, originator_id, originator_version, topic, state)."""
    missing = [k for k in LEAF_FIELDS if k not in event]
    if missing:
        raise Bad(f"missing {', '.join(missing)}")
    extra = sorted(set(event) - set(LEAF_FIELDS) - set(OPTIONAL_FIELDS))
    if extra:
        raise Bad(f"unexpected keys {', '.join(extra)}")
    position, version = event["position"], event["originator_version"]
    if not is_int(position) or position < 1:
        raise Bad(f"position {position!r} is not a whole number ≥ 1")
    if not is_int(version) or version < 1:
        raise Bad(f"originator_version {version!r} is not a whole number ≥ 1")
    if not isinstance(event["topic"], str):
        raise Bad("topic is not a string")
    try:
        originator = str(uuid.UUID(event["originator_id"]))
    except (ValueError, TypeError, AttributeError):
        raise Bad("originator_id is not a UUID") from None
    text = event["state"]
    if not isinstance(text, str):
        raise Bad("state is not a string")
    try:
        state = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Bad("state is not standard padded base64") from None
    if base64.b64encode(state).decode("ascii") != text:
        raise Bad("state is not in canonical base64")
    try:
        event["topic"].encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("topic is not valid Unicode text") from None
    return position, originator, version, event["topic"], state


# The public leaf (docs/verifiable-log.md §1): an independent copy of the table of what each
# event publishes; it must agree with the server's byte for byte, or the roots differ.

ANONYMOUS = "Ẩn danh"
ORIGIN_KINDS = frozenset({"Receipt.Recorded", "Allocation.Made", "Distribution.Made",
                          "Pledge.Made", "Need.Opened"})
REVERSALS = frozenset({"Receipt.Reversed", "Allocation.Reversed", "Distribution.Reversed",
                       "Pledge.Cancelled"})


def _goods(goods: object) -> dict[str, Any] | None:
    if not isinstance(goods, dict):
        return None
    return {k: goods.get(k) for k in ("item", "unit", "quantity", "unit_value_vnd")}


def _restriction(restriction: object) -> dict[str, Any]:
    if not isinstance(restriction, dict):
        return {}
    return {k: restriction[k] for k in ("district", "commune", "category") if restriction.get(k)}


PERSON_COUNTS = ("beneficiaries_count", "overrides", "named_children", "children_count")


def public_facts(kind: str, a: dict[str, Any], position: int, origin: Any) -> Any:
    """What the leaf of one event shows in clear: docs/verifiable-log.md §1.2, the table."""
    facts = _facts(kind, a, position, origin)
    late = a.get("after_closing")
    if isinstance(facts, dict) and isinstance(late, dict) and kind in AFTER_CLOSING:
        facts["recorded_after_closing"] = late.get("season")
    return facts


AFTER_CLOSING = ("Receipt.Recorded", "Allocation.Made", "Distribution.Made", "Need.Surveyed")


def _facts(kind: str, a: dict[str, Any], position: int, origin: Any) -> Any:
    if kind == "Receipt.Recorded":
        received_on = str(a.get("received_on"))
        return {"reference": f"PT-{received_on[:4]}-{position:06d}",
                "received_on": a.get("received_on"), "fund": a.get("fund"),
                "channel": a.get("channel"), "amount_vnd": a.get("amount_vnd"),
                "goods": _goods(a.get("goods")), "restriction": _restriction(a.get("restriction")),
                "donor": a.get("donor_name"), "mobilised_by": a.get("mobilised_by")}
    if kind == "Allocation.Made":
        return {k: a.get(k) for k in ("fund", "season", "district", "commune", "category",
                                      "amount_vnd", "item", "quantity", "decision_ref")}
    if kind == "Distribution.Made":
        lines = a.get("lines") if isinstance(a.get("lines"), list) else []
        facts = {k: a.get(k) for k in ("season", "district", "commune", "category",
                                       "distributed_on", "total_vnd", "beneficiaries_count",
                                       "overrides")}
        facts["named_children"] = sum(1 for x in lines if isinstance(x, dict) and x.get("child_id"))
        return _small_counts(facts)
    if kind == "Pledge.Made":
        return {"amount_vnd": a.get("amount_vnd"), "due_on": a.get("due_on"),
                "mobilised_by": a.get("mobilised_by"), "goods": _goods(a.get("goods")),
                "restriction": _restriction(a.get("restriction"))}
    if kind == "Need.Opened":
        return {k: a.get(k) for k in ("season", "district", "commune", "category")}
    if kind == "Need.Surveyed":
        return _small_counts({"need": origin, "children_count": a.get("children_count"),
                              "estimated_vnd": a.get("estimated_vnd")})
    if kind in REVERSALS:
        return {"reverses": origin}
    return None


def _small_counts(facts: dict[str, Any]) -> dict[str, Any]:
    """Counts of persons from 1 to 4 are published as "< 5" (the project's small-cell rule)."""
    return {k: "< 5" if k in PERSON_COUNTS and type(v) is int and 0 < v < 5 else v
            for k, v in facts.items()}


def sealed_digest(originator: str, version: int, state: bytes) -> str:
    return hashlib.sha256(canonical_json({
        "originator_id": originator, "originator_version": version,
        "state": base64.b64encode(state).decode("ascii")})).hexdigest()


class Leaves:
    """Rebuilds each event's public leaf, in log order (reversals repeat their original's facts)."""

    def __init__(self) -> None:
        self.origins: dict[str, Any] = {}

    def leaf(self, position: int, originator: str, version: int, topic: str, state: bytes) -> bytes:
        kind = topic.rpartition(":")[2]
        try:
            attrs: Any = STATE_DECODER.decode(state.decode("utf-8"))
        except (ValueError, TypeError, AttributeError):
            attrs = None
        first = version == 1
        facts = None
        if isinstance(attrs, dict):
            facts = public_facts(kind, attrs, position, None if first else self.origins.get(originator))
        if first and facts is not None and kind in ORIGIN_KINDS:
            self.origins[originator] = facts
        try:
            return canonical_json({"position": position, "topic": topic, "public": facts,
                                   "sealed": sealed_digest(originator, version, state)})
        except UnicodeEncodeError:
            raise Bad("its public facts are not valid Unicode text") from None


def parse_public_leaf(data: bytes) -> dict[str, Any]:
    """Check leaf bytes as given (public export, donation page): canonical JSON of the four keys."""
    obj = parse_line(data + b"\n")
    if sorted(obj) != sorted(LEAF_KEYS):
        raise Bad(f"the leaf has keys {', '.join(sorted(obj))}, not {', '.join(LEAF_KEYS)}")
    if not is_int(obj["position"]) or obj["position"] < 1:
        raise Bad("the leaf's position is not a whole number ≥ 1")
    if not isinstance(obj["topic"], str):
        raise Bad("the leaf's topic is not a string")
    if not isinstance(obj["sealed"], str) or not HEX64.fullmatch(obj["sealed"]):
        raise Bad("the leaf's sealed digest is not 64 lower-case hex digits")
    if obj["public"] is not None and not isinstance(obj["public"], dict):
        raise Bad("the leaf's public part is neither an object nor null")
    if canonical_json(obj) != data:
        raise Bad("the leaf bytes are not canonical JSON")
    return obj


# The events' content ---------------------------------------------------------------------------


def _untag(obj: dict[str, Any]) -> Any:
    """The eventsourcing library's JSON transcoder writes typed values as {"_type_", "_data_"}."""
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        if obj["_type_"] == "uuid_hex":
            return str(uuid.UUID(hex=obj["_data_"]))
        return obj["_data_"]
    return obj


STATE_DECODER = json.JSONDecoder(object_hook=_untag)


def decode_state(state: bytes) -> dict[str, Any]:
    """The event's attributes (stored as JSON; zlib-compressed JSON is accepted too)."""
    for attempt in (lambda b: b, zlib.decompress):
        try:
            obj = STATE_DECODER.decode(attempt(state).decode("utf-8"))
        except (ValueError, zlib.error, UnicodeDecodeError, TypeError, AttributeError):
            continue
        if isinstance(obj, dict):
            return obj
    raise Bad("its state is not JSON (compressed or encrypted some other way?): "
              "the money in it cannot be checked")


def amount(obj: dict[str, Any], key: str = "amount_vnd") -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Bad(f"{key} is {value!r}, not a whole number of đồng ≥ 0")
    return value


def pieces_total(attrs: dict[str, Any], key: str = "pieces") -> int:
    pieces = attrs.get(key)
    if not isinstance(pieces, list) or not all(isinstance(p, dict) for p in pieces):
        raise Bad(f"{key} is not a list of objects")
    return sum(amount(p) for p in pieces)


def restriction_key(restriction: object) -> str:
    if restriction is None:
        return ""
    if not isinstance(restriction, dict):
        raise Bad("restriction is not an object")
    return "|".join(f"{k}={restriction[k]}" for k in ("district", "commune", "category")
                    if restriction.get(k))


def ident(attrs: dict[str, Any], key: str) -> str:
    try:
        return str(uuid.UUID(str(attrs.get(key))))
    except ValueError:
        raise Bad(f"{key} is not a UUID") from None


MONEY_TOPICS = frozenset({
    "Receipt.Recorded", "Receipt.Drawn", "Receipt.Returned", "Receipt.Reversed",
    "Programme.Opened", "Programme.FundsAllocated", "Programme.SupportDistributed",
    "Programme.AllocationReturned", "Programme.DistributionReturned",
    "Allocation.Made", "Distribution.Made",
})


class Receipt:
    __slots__ = ("amount", "fund", "remaining", "reversed")

    def __init__(self, fund: tuple[str, str], amount: int) -> None:
        self.fund, self.amount, self.remaining, self.reversed = fund, amount, amount, False


class Money:
    """Balances rebuilt from the events, in log order."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = defaultdict(int)
        self.receipts: dict[str, Receipt] = {}
        self.funds: dict[tuple[str, str], int] = defaultdict(int)  # (fund, restriction) → available
        self._fund_keys: dict[tuple[str, str], tuple[str, str]] = {}
        self.programmes: dict[str, list[int]] = {}  # id → [remaining, distributed]
        # Open matches between the events of one command; an entry goes when its sums agree.
        # Each entry: the sums, then [first line, first position, last position].
        # allocation id → [Allocation.Made, Programme.FundsAllocated, Receipt.Drawn, …]
        self.allocations: dict[str, list[int]] = {}
        # allocation id → [Programme.AllocationReturned, Receipt.Returned, …]
        self.returns: dict[str, list[int]] = {}
        # distribution id → [Distribution.Made total_vnd, Programme.SupportDistributed, …]
        self.distributions: dict[str, list[int]] = {}

    @staticmethod
    def _tally(table: dict[str, list[int]], key: str, width: int, column: int, value: int,
               where: tuple[int, int]) -> None:
        entry = table.get(key)
        if entry is None:
            entry = table[key] = [0] * width + [*where, where[1]]
        entry[column] += value
        entry[-1] = where[1]
        if len(set(entry[:width])) == 1:
            del table[key]

    def apply(self, kind: str, originator: str, attrs: dict[str, Any], where: tuple[int, int]) -> None:
        """Apply one event; raise Bad for a rule it breaks."""
        t = self.totals
        if kind == "Receipt.Recorded":
            value = amount(attrs)
            fund = attrs.get("fund")
            if not isinstance(fund, str):
                raise Bad("fund is not a string")
            if originator in self.receipts:
                raise Bad(f"receipt {originator} is recorded twice")
            key = (fund, restriction_key(attrs.get("restriction")))
            key = self._fund_keys.setdefault(key, key)  # one tuple per fund, not per receipt
            self.receipts[originator] = Receipt(key, value)
            self.funds[key] += value
            t["recorded"] += value
        elif kind in ("Receipt.Drawn", "Receipt.Returned", "Receipt.Reversed"):
            receipt = self.receipts.get(originator)
            if receipt is None:
                raise Bad(f"receipt {originator} was never recorded before this {kind}")
            if receipt.reversed:
                raise Bad(f"receipt {originator} was reversed before this {kind}")
            if kind == "Receipt.Reversed":
                if receipt.remaining != receipt.amount:
                    raise Bad(f"receipt {originator} is reversed while "
                              f"{receipt.amount - receipt.remaining} đồng of it are allocated")
                receipt.reversed, receipt.remaining = True, 0
                self.funds[receipt.fund] -= receipt.amount
                t["reversed"] += receipt.amount
                self._not_negative_fund(receipt.fund)
                return
            value = amount(attrs)
            allocation = ident(attrs, "allocation_id")
            if kind == "Receipt.Drawn":
                receipt.remaining -= value
                self.funds[receipt.fund] -= value
                t["drawn"] += value
                self._tally(self.allocations, allocation, 3, 2, value, where)
                if receipt.remaining < 0:
                    raise Bad(f"receipt {originator} is overdrawn: {receipt.remaining} đồng left")
                self._not_negative_fund(receipt.fund)
            else:
                receipt.remaining += value
                self.funds[receipt.fund] += value
                t["returned"] += value
                self._tally(self.returns, allocation, 2, 1, value, where)
                if receipt.remaining > receipt.amount:
                    raise Bad(f"receipt {originator} got back more than was drawn from it")
        elif kind == "Programme.Opened":
            if originator in self.programmes:
                raise Bad(f"programme {originator} is opened twice")
            self.programmes[originator] = [0, 0]
        elif kind.startswith("Programme."):
            programme = self.programmes.get(originator)
            if programme is None:
                raise Bad(f"programme {originator} was never opened before this {kind}")
            if kind == "Programme.FundsAllocated":
                value = pieces_total(attrs)
                programme[0] += value
                t["allocated"] += value
                self._tally(self.allocations, ident(attrs, "allocation_id"), 3, 1, value, where)
            elif kind == "Programme.SupportDistributed":
                value = pieces_total(attrs)
                programme[0] -= value
                programme[1] += value
                t["distributed"] += value
                self._tally(self.distributions, ident(attrs, "distribution_id"), 2, 1, value, where)
            elif kind == "Programme.AllocationReturned":
                value = amount(attrs)
                programme[0] -= value
                t["allocation_returned"] += value
                self._tally(self.returns, ident(attrs, "allocation_id"), 2, 0, value, where)
            elif kind == "Programme.DistributionReturned":
                value = pieces_total(attrs)
                programme[0] += value
                programme[1] -= value
                t["distribution_returned"] += value
            if programme[0] < 0:
                raise Bad(f"programme {originator} goes below zero: {programme[0]} đồng")
            if programme[1] < 0:
                raise Bad(f"programme {originator} has distributed {programme[1]} đồng")
        elif kind == "Allocation.Made":
            value = amount(attrs)
            drawn = attrs.get("drawn_from")
            t["allocation_made"] += value
            self._tally(self.allocations, originator, 3, 0, value, where)
            if isinstance(drawn, list) and pieces_total(attrs, "drawn_from") != value:
                raise Bad(f"allocation {originator}: amount_vnd {value} ≠ the sum of drawn_from")
        elif kind == "Distribution.Made":
            value = amount(attrs, "total_vnd")
            t["distribution_made"] += value
            self._tally(self.distributions, originator, 2, 0, value, where)
            lines = attrs.get("lines")
            if isinstance(lines, list) and all(isinstance(x, dict) for x in lines):
                drawn = sum(pieces_total(x, "drawn_from") for x in lines)
                if drawn != value:
                    raise Bad(f"distribution {originator}: total_vnd {value} ≠ {drawn} drawn by its lines")

    def _not_negative_fund(self, fund: tuple[str, str]) -> None:
        if self.funds[fund] < 0:
            name, restriction = fund
            raise Bad(f"fund {name} [{restriction or 'unrestricted'}] goes below zero: "
                      f"{self.funds[fund]} đồng")


# The whole check -------------------------------------------------------------------------------


class Report:
    KEEP = 1000

    def __init__(self) -> None:
        self.count = 0
        self._problems: list[tuple[float, int, str]] = []  # (line or ∞, order found, text)
        self.lines: list[tuple[bool, str]] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []

    def fail(self, message: str, line: int | None = None, position: int | None = None) -> None:
        where = ""
        if line is not None:
            where = f"line {line}" + (f", position {position}" if position is not None else "") + ": "
        self.count += 1
        if len(self._problems) < self.KEEP:
            self._problems.append((float("inf") if line is None else line, self.count, where + message))

    @property
    def problems(self) -> list[str]:
        """Problems tied to a line first, in file order; then the ones about the whole file."""
        return [text for _, _, text in sorted(self._problems)]

    def check(self, ok: bool, text: str) -> bool:
        self.lines.append((ok, text))
        return ok


def verify_signature(key_hex: str, head: dict[str, Any]) -> bool:
    signed = canonical_json({k: head[k] for k in ("tree_size", "root_hash", "timestamp")})
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex)).verify(
            bytes.fromhex(head["signature"]), signed)
    except (InvalidSignature, ValueError):
        return False
    return True


# Checkpoint and witnesses' cosignatures (docs/design.md, "Witnesses"; C2SP signed-note,
# tlog-checkpoint, tlog-cosignature) -------------------------------------------------------------

ALG_ED25519, ALG_COSIGNATURE_V1 = 0x01, 0x04


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """signed-note's key id: SHA-256(name ‖ 0x0A ‖ alg ‖ public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()[:4]


def _ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def split_note(note: str) -> tuple[bytes, list[tuple[str, bytes, bytes]]]:
    """A signed note's text and its signature lines as (name, key id, signature bytes)."""
    cut = note.rfind("\n\n")
    if not note.endswith("\n") or cut < 0:
        raise Bad("the checkpoint is not a signed note (text, empty line, signature lines)")
    lines = []
    for line in note[cut + 2:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014":
            raise Bad(f"bad signature line {line!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise Bad(f"the signature of {parts[1]} is not base64") from None
        if len(raw) < 5:
            raise Bad(f"the signature of {parts[1]} is too short")
        lines.append((parts[1], raw[:4], raw[4:]))
    return note[:cut + 1].encode("utf-8"), lines


def check_publication(header: dict[str, Any], head: dict[str, Any], key: str,
                      witnesses: dict[str, bytes], quorum: int | None, report: Report) -> None:
    """The head's checkpoint is the log's, and enough of the given witnesses cosigned it."""
    publication = header.get("publication")
    if publication is None:
        if witnesses:
            report.check(False, "witnesses' cosignatures")
            report.fail("the file carries no cosigned checkpoint, and you gave --witness keys", 1)
        return
    try:
        if not isinstance(publication, dict) or not isinstance(publication.get("checkpoint"), str):
            raise Bad("`publication` has no checkpoint note")
        body, signatures = split_note(publication["checkpoint"])
        origin, size_text, root_b64 = [*body.decode("utf-8").split("\n"), "", ""][:3]
        if size_text != str(head["tree_size"]) or root_b64 != base64.b64encode(
                bytes.fromhex(head["root_hash"])).decode("ascii"):
            raise Bad("the checkpoint's size and root are not the signed tree head's")
    except Bad as e:
        report.check(False, "checkpoint of the tree head")
        report.fail(f"bad publication: {e}", 1)
        return
    log_key = bytes.fromhex(key)
    log_id = key_id(origin, ALG_ED25519, log_key)
    ok = any(n == origin and k == log_id and _ed25519(log_key, sig, body) for n, k, sig in signatures)
    if not report.check(ok, f"checkpoint {origin} signed by the log's key"):
        report.fail("the checkpoint carries no valid signature by the log's key", 1)
    named = sorted({n for n, _, _ in signatures} - {origin})
    if not witnesses:
        report.notes.append(
            f"the checkpoint carries cosignatures by {', '.join(named) or 'nobody'}; to check them, "
            "pass --witness NAME=HEX for each witness key you trust (GET /audit/witnesses)")
        return
    valid = set()
    for name, kid, sig in signatures:
        public = witnesses.get(name)
        if public is None or kid != key_id(name, ALG_COSIGNATURE_V1, public):
            continue  # someone else's signature: not counted, as signed-note says
        stamp = int.from_bytes(sig[:8], "big")
        message = b"cosignature/v1\ntime " + str(stamp).encode() + b"\n" + body
        if len(sig) == 72 and _ed25519(public, sig[8:], message):
            valid.add(name)
        else:
            report.fail(f"the cosignature of {name} does not verify", 1)
    if quorum is None:
        quorum = publication.get("quorum") if is_int(publication.get("quorum")) else len(witnesses)
        report.warnings.append(f"the quorum {quorum} is the file's own; pass --quorum with yours")
    if not report.check(len(valid) >= max(quorum, 1),
                        f"cosigned by {len(valid)} of your {len(witnesses)} witnesses"
                        f" ({', '.join(sorted(valid)) or 'none'}; quorum {quorum})"):
        report.fail(f"{len(valid)} valid cosignatures by your witnesses, fewer than {quorum}", 1)


class Wanted:
    """A leaf given with --leaf, to be found in the export at its position."""

    __slots__ = ("claimed", "found", "hash", "index", "name", "position")

    def __init__(self, name: str, position: int, hash_: bytes, index: int | None,
                 claimed: str | None = None) -> None:
        self.name, self.position, self.hash, self.index = name, position, hash_, index
        self.claimed = claimed  # the leaf hash the record (or its inclusion proof) states
        self.found: tuple[int, int, bytes] | None = None  # (line, leaf index, leaf hash in the file)


def load_leaf(path: str) -> Wanted:
    """Read a leaf: a /public/donations/{reference} answer (its `leaf`, base64 of the leaf bytes,
    and its `inclusion_proof`), a line of a public export, or the leaf bytes themselves."""
    try:
        with open(path, "rb") as f:
            raw = f.read().strip()
    except OSError as e:
        raise Bad(f"cannot read it: {e}") from None
    obj = parse_line(raw + b"\n")
    index, claimed = None, None
    if "public" in obj and "sealed" in obj:  # the leaf bytes themselves
        data = raw
    else:
        text = obj.get("leaf")
        if not isinstance(text, str):
            raise Bad("not a leaf: no `leaf` (base64 of the leaf bytes)")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise Bad("its leaf is not standard padded base64") from None
        proof = obj.get("inclusion_proof", obj.get("proof"))
        if isinstance(proof, dict):
            if is_int(proof.get("leaf_index")):
                index = proof["leaf_index"]
            if isinstance(proof.get("leaf_hash"), str):
                claimed = proof["leaf_hash"].lower()
        if "leaf_index" in obj:
            if not is_int(obj["leaf_index"]) or obj["leaf_index"] < 0:
                raise Bad("its leaf_index is not a whole number ≥ 0")
            if index is not None and index != obj["leaf_index"]:
                raise Bad(f"its leaf_index {obj['leaf_index']} differs from its inclusion proof's {index}")
            index = obj["leaf_index"]
        if isinstance(obj.get("leaf_hash"), str):
            claimed = obj["leaf_hash"].lower()
    leaf = parse_public_leaf(data)
    return Wanted(path, leaf["position"], leaf_hash(data), index, claimed)


def public_leaf(line: dict[str, Any]) -> tuple[bytes, int, int, dict[str, Any]]:
    """Check one line of a public export; return (leaf hash, position, leaf index, the leaf)."""
    missing = [k for k in PUBLIC_FIELDS if k not in line]
    if missing:
        raise Bad(f"missing {', '.join(missing)}")
    extra = sorted(set(line) - set(PUBLIC_FIELDS))
    if extra:
        raise Bad(f"unexpected keys {', '.join(extra)} (a public export holds public leaves only)")
    position, index, text = line["position"], line["leaf_index"], line["leaf"]
    if not is_int(position) or position < 1:
        raise Bad(f"position {position!r} is not a whole number ≥ 1")
    if not is_int(index) or index < 0:
        raise Bad(f"leaf_index {index!r} is not a whole number ≥ 0")
    if not isinstance(text, str):
        raise Bad("leaf is not a string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Bad("leaf is not standard padded base64") from None
    if base64.b64encode(data).decode("ascii") != text:
        raise Bad("leaf is not in canonical base64")
    leaf = parse_public_leaf(data)
    if leaf["position"] != position:
        raise Bad(f"the leaf says position {leaf['position']}, the line {position}")
    return leaf_hash(data), position, index, leaf


def verify(f: BinaryIO, trusted_key: str | None, report: Report,
           leaves: list[Wanted] | None = None, witnesses: dict[str, bytes] | None = None,
           quorum: int | None = None) -> None:
    first = f.readline()
    try:
        header = parse_line(first)
        fmt = header.get("format")
        if fmt not in (FORMAT, PUBLIC_FORMAT):
            raise Bad(f"format is {fmt!r}, not {FORMAT!r} or {PUBLIC_FORMAT!r}")
        if header.get("algorithm", "Ed25519") != "Ed25519":
            raise Bad(f"algorithm is {header.get('algorithm')!r}, not 'Ed25519'")
        file_key = header.get("public_key")
        if not isinstance(file_key, str) or not HEX64.fullmatch(file_key.lower()):
            raise Bad("public_key is not 32 bytes of hex")
        head = check_head(header.get("tree_head"))
    except Bad as e:
        report.fail(f"bad header: {e}", 1)
        report.check(False, "header")
        return
    public = fmt == PUBLIC_FORMAT
    size, root_hex = int(head["tree_size"]), head["root_hash"]
    try:
        when = datetime.fromtimestamp(head["timestamp"] / 1000, tz=timezone.utc)  # noqa: UP017 (3.9)
        stamp = when.isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        stamp = f"at {head['timestamp']} ms (not a representable date)"
    print(f"{'public export (public leaves)' if public else 'full export (events)'}: {fmt}")
    print(f"tree head: size {size}, root {root_hex}, signed {stamp}")

    if trusted_key is None:
        key = file_key.lower()
        report.warnings.append(
            "the signature was checked with the public key written in the file itself; whoever "
            "can rewrite the file can replace that key too. Pass --public-key with your own "
            "trusted copy (from /audit/public-key).")
        source = "the file's own key"
    else:
        key = trusted_key
        source = "your --public-key"
        if file_key.lower() != key:
            report.fail(f"the file names public key {file_key}, not your trusted key {key}", 1)
    print(f"public key: {key} ({source})")
    if not report.check(verify_signature(key, head), f"Ed25519 signature of the tree head ({source})"):
        report.fail(f"the tree head's signature does not verify with {source}", 1)
    check_publication(header, head, key, witnesses or {}, quorum, report)

    wanted: dict[int, Wanted] = {w.position: w for w in leaves or ()}
    frontier = Frontier()
    money = None if public else Money()
    leaves_of = Leaves()
    root_at_size: bytes | None = None
    last_position = 0
    first_position: int | None = None
    lineno = 1
    order_ok = True
    next_index = 0  # the file's own numbering of its lines (`leaf_index`, optional in a full export)
    for raw in f:
        lineno += 1
        position: int | None = None
        index: object = None
        try:
            line = parse_line(raw)
            if is_int(line.get("position")):
                position = line["position"]
            if public:
                leaf, position, index, _ = public_leaf(line)
            else:
                position, originator, version, topic, state = leaf_of(line)
                # The leaf is rebuilt from the stored event: its public part from the table of
                # what each event publishes, its sealed digest from the stored bytes. Any
                # difference from what the log signed changes the root.
                leaf = leaf_hash(leaves_of.leaf(position, originator, version, topic, state))
                index = line.get("leaf_index")
        except Bad as e:
            report.fail(str(e), lineno, position)
            order_ok = False
            continue
        if public or "leaf_index" in line:
            if not is_int(index) or index != next_index:
                what = "leaves" if public else "events"
                report.fail(f"leaf_index {index!r} where {next_index} was expected: {what} before "
                            "this one are missing, added or moved", lineno, position)
                order_ok = False
            next_index = index + 1 if isinstance(index, int) else next_index + 1
        if position <= last_position:
            report.fail(f"position {position} does not come after position {last_position} "
                        f"({'leaves' if public else 'events'} out of order or repeated)",
                        lineno, position)
            order_ok = False
        last_position = max(last_position, position)
        if first_position is None:
            first_position = position
        if frontier.size == size:
            report.fail(f"more {'leaves' if public else 'events'} than the tree head's size {size}",
                        lineno, position)
        w = wanted.get(position)
        if w is not None and w.found is None:
            w.found = (lineno, frontier.size, leaf)
        frontier.append(leaf)
        if frontier.size == size:
            root_at_size = frontier.root()
        if money is not None:
            kind = topic.rpartition(":")[2]
            if kind in MONEY_TOPICS:
                try:
                    money.apply(kind, originator, decode_state(state), (lineno, position))
                except Bad as e:
                    report.fail(f"{kind}: {e}", lineno, position)

    count = frontier.size
    if size == 0:
        root_at_size = hashlib.sha256(b"").digest()
    span = f"positions {first_position}…{last_position}" if count else "no events"
    if public:
        report.check(count == size and order_ok,
                     f"{count} leaves ({span}), well formed, leaf indexes 0…{size - 1} in order, "
                     "positions strictly increasing, as many as the tree head's size")
    else:
        report.check(count == size and order_ok,
                     f"{count} events ({span}), well formed, positions strictly increasing, "
                     "as many as the tree head's size")
    if count != size:
        report.fail(f"the file has {count} readable {'leaves' if public else 'events'}, "
                    f"the tree head says {size}")
    computed = root_at_size.hex() if root_at_size is not None else None
    source = "public leaves" if public else "events"
    print(f"root computed from the {source}: "
          f"{computed or f'none (fewer {source} than the tree size)'}")
    if not report.check(computed == root_hex,
                        f"Merkle root of the first {size} {source} = the tree head's root_hash"):
        report.fail(f"the {source} do not hash to the signed root {root_hex}"
                    + (f" (they give {computed})" if computed else " (too few to rebuild it)")
                    + f": {'a leaf' if public else 'an event'} was altered, added, removed "
                      "or reordered")
    for w in wanted.values():
        _leaf_report(w, size, report)
    if money is not None:
        _money_report(money, report)
    else:
        report.notes.append(
            "this is a public export: it holds public leaves, not events, so the events themselves, "
            "the money and the trial balance are not in a public export and were not checked "
            "(they are in the auditors' full export, `minhbach audit export` without --public).")


def _leaf_report(w: Wanted, size: int, report: Report) -> None:
    shown = f"leaf at position {w.position} from {w.name}"
    if w.claimed is not None and w.claimed != w.hash.hex():
        report.fail(f"{shown}: its leaf bytes hash to {w.hash.hex()}, not to the leaf_hash "
                    f"{w.claimed} it comes with")
    if w.found is None:
        report.check(False, f"{shown}: in the signed tree")
        report.fail(f"{shown}: no leaf at that position in this export (the export's tree head, "
                    f"size {size}, may be older than the leaf)")
        return
    line, index, found = w.found
    if found != w.hash:
        report.check(False, f"{shown}: in the signed tree")
        report.fail(f"{shown}: it hashes to {w.hash.hex()}, but leaf {index} at that position is "
                    f"{found.hex()}: this is not the event the log holds", line, w.position)
    elif w.index is not None and w.index != index:
        report.check(False, f"{shown}: in the signed tree")
        report.fail(f"{shown}: it claims leaf index {w.index}, but it is leaf {index}", line,
                    w.position)
    else:
        report.check(True, f"{shown}: its hash {found.hex()} is leaf {index} of the signed tree")


def _money_report(money: Money, report: Report) -> None:
    t = money.totals
    received = t["recorded"] - t["reversed"]
    funds = sum(money.funds.values())
    remaining = sum(p[0] for p in money.programmes.values())
    distributed = sum(p[1] for p in money.programmes.values())
    print(f"money received: {received:,} đồng ({t['recorded']:,} recorded − {t['reversed']:,} reversed)")
    print(f"  funds available       {funds:>22,}  "
          f"(received − {t['drawn']:,} drawn + {t['returned']:,} returned)")
    print(f"  programmes remaining  {remaining:>22,}  ({len(money.programmes)} programmes)")
    print(f"  distributed           {distributed:>22,}")
    if not report.check(received == funds + remaining + distributed,
                        "trial balance: received = funds available + programmes remaining + distributed"):
        report.fail(f"trial balance: received {received} ≠ funds {funds} + programmes {remaining} "
                    f"+ distributed {distributed} = {funds + remaining + distributed}")
    sums = (t["drawn"], t["allocated"], t["allocation_made"])
    if not report.check(len(set(sums)) == 1,
                        f"Σ Receipt.Drawn = Σ Programme.FundsAllocated = Σ Allocation.Made = {sums[0]:,}"):
        report.fail("Σ Receipt.Drawn {} , Σ Programme.FundsAllocated {}, Σ Allocation.Made {} differ"
                    .format(*sums))
    if not report.check(t["returned"] == t["allocation_returned"],
                        f"Σ Receipt.Returned = Σ Programme.AllocationReturned = {t['returned']:,}"):
        report.fail(f"Σ Receipt.Returned {t['returned']} ≠ Σ Programme.AllocationReturned "
                    f"{t['allocation_returned']}")
    if not report.check(t["distribution_made"] == t["distributed"],
                        f"Σ Distribution.Made = Σ Programme.SupportDistributed = {t['distributed']:,}"):
        report.fail(f"Σ Distribution.Made {t['distribution_made']} ≠ Σ Programme.SupportDistributed "
                    f"{t['distributed']}")

    def span(e: list[int]) -> str:
        return f"its events at positions {e[-2]}…{e[-1]}" if e[-1] != e[-2] else "its only event"

    unmatched = (
        [(e[-3], e[-2], f"allocation {k}: Allocation.Made {e[0]}, Programme.FundsAllocated {e[1]}, "
                        f"Receipt.Drawn {e[2]} differ ({span(e)})") for k, e in money.allocations.items()]
        + [(e[-3], e[-2], f"allocation {k} returned: Programme.AllocationReturned {e[0]}, "
                          f"Receipt.Returned {e[1]} differ ({span(e)})") for k, e in money.returns.items()]
        + [(e[-3], e[-2], f"distribution {k}: Distribution.Made {e[0]}, Programme.SupportDistributed "
                          f"{e[1]} differ ({span(e)})") for k, e in money.distributions.items()])
    report.check(not unmatched, "each allocation, return and distribution agrees across its events")
    for line, position, message in sorted(unmatched):
        report.fail(message, line, position)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a Minh Bạch log export (full or public) offline.")
    parser.add_argument("file", help="the JSON Lines file written by `minhbach audit export` "
                                     "(with or without --public) or /api/v1/public/export")
    parser.add_argument("--public-key", help="your trusted copy of the log's Ed25519 public key (hex)")
    parser.add_argument("--leaf", action="append", default=[], metavar="LEAF.json",
                        help="a leaf: the answer of /api/v1/public/donations/{reference} (its "
                             "base64 `leaf` and its proof), a public export line, or leaf bytes, "
                             "that "
                             "must be in the signed tree; may be given more than once")
    parser.add_argument("--witness", action="append", default=[], metavar="NAME=HEX",
                        help="a witness you trust: its key name and Ed25519 public key (hex, from "
                             "/audit/witnesses); may be given more than once")
    parser.add_argument("--quorum", type=int, help="how many of your --witness keys must have "
                                                   "cosigned the head (default: the file's quorum)")
    args = parser.parse_args(argv)
    witnesses: dict[str, bytes] = {}
    for given in args.witness:
        name, _, key_hex = given.partition("=")
        if not name or not HEX64.fullmatch(key_hex.strip().lower()):
            parser.error(f"--witness {given!r}: want NAME=<64 hex digits>")
        witnesses[name] = bytes.fromhex(key_hex.strip())
    if args.quorum is not None and not 1 <= args.quorum <= max(len(witnesses), 1):
        parser.error("--quorum is between 1 and the number of --witness keys")
    trusted = args.public_key.strip().lower() if args.public_key else None
    if trusted is not None and not HEX64.fullmatch(trusted):
        parser.error("--public-key must be 64 hex digits (32 bytes)")
    leaves: list[Wanted] = []
    for path in args.leaf:
        try:
            leaves.append(load_leaf(path))
        except Bad as e:
            parser.error(f"--leaf {path}: {e}")
    positions = [w.position for w in leaves]
    if len(set(positions)) != len(positions):
        parser.error("two --leaf files are for the same position")
    report = Report()
    started = time.monotonic()
    try:
        with open(args.file, "rb") as f:
            verify(f, trusted, report, leaves, witnesses, args.quorum)
    except OSError as e:
        print(f"cannot read {args.file}: {e}")
        return 1
    elapsed = time.monotonic() - started
    print()
    for ok, text in report.lines:
        print(f"[{' ok ' if ok else 'FAIL'}] {text}")
    for note in report.notes:
        print(f"NOTE: {note}")
    for warning in report.warnings:
        print(f"WARNING: {warning}")
    if report.count:
        problems = report.problems
        print(f"\nFAILED ({report.count} problem{'s' if report.count > 1 else ''}, {elapsed:.1f} s); "
              f"first: {problems[0]}")
        for problem in problems[:MAX_SHOWN]:
            print(f"  PROBLEM: {problem}")
        if report.count > MAX_SHOWN:
            print(f"  … {report.count - MAX_SHOWN} more not shown")
        return 1
    print(f"\nOK: every check passed ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
