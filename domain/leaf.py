"""The public leaf of the verifiable log (DESIGN §5, docs/verifiable-log.md §1): pure, no IO.

A leaf is the canonical JSON of ``{position, topic, public, sealed}``: the event's public facts
in clear, and a SHA-256 of everything it stores (``sealed``), which carries a random salt (the
``salt`` of its metadata) so that the digest cannot be recomputed from guessed contents.

Which facts an event publishes is :func:`public_facts`, the table of docs/verifiable-log.md §1.2.
``tools/verify_export.py`` holds an independent copy of the same table (it must not import this
project); tests/unit/test_leaf_encoding.py holds the two equal.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import json
import re
from typing import Any, NamedTuple
from uuid import UUID

import orjson

from domain.ids import as_id
from domain.merkle import canonical_json
from domain.small_cells import hide_small

__all__ = [
    "ANONYMOUS",
    "ORIGIN_KINDS",
    "PUBLISHING_KINDS",
    "Facts",
    "Leaf",
    "decode_state",
    "leaf",
    "public_facts",
    "receipt_reference",
    "sealed_digest",
    "sealed_input",
]

ANONYMOUS = "Ẩn danh"
Facts = dict[str, Any] | None

# Aggregates whose later events publish the facts of their first event (a reversal names what it
# reverses): the leaf builder keeps the first event's public facts of these, by originator id.
ORIGIN_KINDS = frozenset({"Receipt.Recorded", "Allocation.Made", "Distribution.Made",
                          "Pledge.Made", "Need.Opened"})
# The kinds :func:`public_facts` publishes something for; for every other kind it returns None
# whatever the state, so :func:`leaf` need not decode their states (most of a log's events).
PUBLISHING_KINDS = ORIGIN_KINDS | frozenset({"Need.Surveyed", "Receipt.Reversed", "Allocation.Reversed",
                                             "Distribution.Reversed", "Pledge.Cancelled"})


def receipt_reference(received_on: str, position: int) -> str:
    """The receipt's voucher number names its place in the log: unique without a counter."""
    return f"PT-{received_on[:4]}-{position:06d}"


_LOWER_HEX = re.compile("[0-9a-f]{32}")


def _uuid_text(data: Any) -> str:
    # str(UUID(hex=data)), without making the UUID when the library wrote it (lowercase hex).
    if isinstance(data, str) and _LOWER_HEX.fullmatch(data):
        return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
    return str(UUID(hex=data))


def _untag(obj: dict[str, Any]) -> Any:
    # The eventsourcing library's JSON transcoder writes typed values as {"_type_", "_data_"}.
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        if obj["_type_"] == "uuid_hex":
            return _uuid_text(obj["_data_"])
        return obj["_data_"]
    return obj


_DECODER = json.JSONDecoder(object_hook=_untag)


def decode_state(state: bytes) -> dict[str, Any]:
    """The event's stored attributes (the library's JSON). Raises ValueError if it is not that."""
    obj = _DECODER.decode(state.decode("utf-8"))
    if not isinstance(obj, dict):
        raise ValueError("the stored state is not a JSON object")
    return obj


# The stored attributes each publishing kind's facts are made of: what :func:`public_facts` reads
# (tests/unit/test_public_leaf.py holds the two equal). The fast path decodes only these.
READS: dict[str, tuple[str, ...]] = {
    "Receipt.Recorded": ("received_on", "fund", "channel", "amount_vnd", "goods", "restriction",
                         "donor_name", "mobilised_by", "after_closing"),
    "Allocation.Made": ("fund", "season", "district", "commune", "category", "amount_vnd", "item",
                        "quantity", "decision_ref", "after_closing"),
    "Distribution.Made": ("season", "district", "commune", "category", "distributed_on",
                          "total_vnd", "beneficiaries_count", "overrides", "lines", "after_closing"),
    "Pledge.Made": ("amount_vnd", "due_on", "mobilised_by", "goods", "restriction"),
    "Need.Opened": ("season", "district", "commune", "category"),
    "Need.Surveyed": ("children_count", "estimated_vnd", "after_closing"),
    "Receipt.Reversed": (), "Allocation.Reversed": (), "Distribution.Reversed": (),
    "Pledge.Cancelled": (),
}


class _Unusual(Exception):
    """A value the fast path can't be sure to treat as the reference path does (a float)."""


def _plain(value: Any) -> Any:
    # As decode_state's object hook leaves a decoded value (tags undone bottom-up). A float can
    # only be a real float or, from orjson, an integer beyond 64 bits: the reference path decides.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return _untag({k: _plain(v) for k, v in value.items()})
    if kind is list:
        return [_plain(v) for v in value]
    raise _Unusual


def _fast(kind: str, state: bytes, position: int, origin: Facts) -> tuple[Facts, bytes] | None:
    """The facts and their canonical JSON through orjson (four times faster than the standard
    library here), or None where its answer could differ from the reference path's: invalid or
    unusual JSON (orjson refuses NaN, the standard library takes it), floats (formatted apart),
    integers beyond 64 bits."""
    try:
        raw = orjson.loads(state)
        if type(raw) is not dict or (len(raw) == 2 and "_type_" in raw and "_data_" in raw):
            return None
        attrs = {k: _plain(raw[k]) for k in READS[kind] if k in raw}
        if origin is not None:
            _plain(origin)
        facts = public_facts(kind, attrs, position, origin)
        return facts, b"null" if facts is None else orjson.dumps(facts, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, _Unusual):
        return None


def _reference(kind: str, state: bytes, position: int, origin: Facts) -> tuple[Facts, bytes]:
    try:
        attrs = decode_state(state)
    except ValueError:
        return None, b"null"
    facts = public_facts(kind, attrs, position, origin)
    return facts, b"null" if facts is None else canonical_json(facts)


def _goods(goods: object) -> dict[str, Any] | None:
    if not isinstance(goods, dict):
        return None
    return {k: goods.get(k) for k in ("item", "unit", "quantity", "unit_value_vnd")}


def _restriction(restriction: object) -> dict[str, Any]:
    if not isinstance(restriction, dict):
        return {}
    return {k: restriction[k] for k in ("district", "commune", "category") if restriction.get(k)}


def _pick(attrs: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: attrs.get(k) for k in keys}


def _late(attrs: dict[str, Any]) -> dict[str, Any]:
    # Only in entries recorded after their season was closed (the admin's reason stays sealed),
    # so that every earlier leaf keeps its bytes.
    late = attrs.get("after_closing")
    return {"recorded_after_closing": late.get("season")} if isinstance(late, dict) else {}


def public_facts(kind: str, attrs: dict[str, Any], position: int, origin: Facts = None) -> Facts:
    """What the leaf of one event shows in clear (docs/verifiable-log.md §1.2).

    `kind` is the topic's part after the last ":" (``Receipt.Recorded``); `attrs` the stored
    attributes (:func:`decode_state`); `origin` the public facts of the first event of the same
    aggregate, for the kinds that name what they reverse or update. Everything not listed
    (notes, bank references, donor, pledge and child ids, the metadata) stays sealed."""
    if kind == "Receipt.Recorded":
        return {
            "reference": receipt_reference(str(attrs.get("received_on")), position),
            "received_on": attrs.get("received_on"),
            "fund": attrs.get("fund"),
            "channel": attrs.get("channel"),
            "amount_vnd": attrs.get("amount_vnd"),
            "goods": _goods(attrs.get("goods")),
            "restriction": _restriction(attrs.get("restriction")),
            "donor": attrs.get("donor_name"),
            "mobilised_by": attrs.get("mobilised_by"),
            **_late(attrs),
        }
    if kind == "Allocation.Made":
        return {**_pick(attrs, "fund", "season", "district", "commune", "category", "amount_vnd",
                         "item", "quantity", "decision_ref"), **_late(attrs)}
    if kind == "Distribution.Made":
        lines = attrs.get("lines")
        lines = lines if isinstance(lines, list) else []
        # Counts only (which children, and what each got, stay sealed), and those below 5 as
        # "< 5": a leaf is a public answer like any other.
        return hide_small({
            **_pick(attrs, "season", "district", "commune", "category", "distributed_on",
                    "total_vnd", "beneficiaries_count", "overrides"),
            "named_children": sum(1 for x in lines if isinstance(x, dict) and x.get("child_id")),
            **_late(attrs),
        })
    if kind == "Pledge.Made":
        return {**_pick(attrs, "amount_vnd", "due_on", "mobilised_by"),
                "goods": _goods(attrs.get("goods")),
                "restriction": _restriction(attrs.get("restriction"))}
    if kind == "Need.Opened":
        return _pick(attrs, "season", "district", "commune", "category")
    if kind == "Need.Surveyed":
        return hide_small({"need": origin, **_pick(attrs, "children_count", "estimated_vnd"),
                           **_late(attrs)})
    if kind in ("Receipt.Reversed", "Allocation.Reversed", "Distribution.Reversed",
                "Pledge.Cancelled"):
        return {"reverses": origin}
    return None


_CANONICAL_ID = re.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _id_text(originator_id: UUID | str) -> str:
    # An id given as its canonical text is used as it is: making it a UUID and back costs more
    # than the rest of a plain event's leaf.
    if type(originator_id) is str and _CANONICAL_ID.fullmatch(originator_id):
        return originator_id
    return str(as_id(originator_id))


def sealed_input(originator_id: str, originator_version: int, state: bytes) -> bytes:
    # canonical_json of {originator_id, originator_version, state (base64)}, assembled
    # directly: a UUID's text, an int and base64 need no escaping, and the keys are in order.
    return b"".join((b'{"originator_id":"', originator_id.encode("ascii"), b'","originator_version":',
                     b"%d" % originator_version, b',"state":"', binascii.b2a_base64(state, newline=False),
                     b'"}'))


def sealed_digest(originator_id: UUID | str, originator_version: int, state: bytes) -> str:
    """Hex SHA-256 of the canonical JSON of {originator_id, originator_version, state (base64)}."""
    if type(originator_version) is not int:
        raise ValueError("originator_version must be an integer")
    return hashlib.sha256(sealed_input(_id_text(originator_id), originator_version, state)).hexdigest()


@functools.lru_cache(maxsize=256)
def _topic_json(topic: str) -> bytes:
    return json.dumps(topic, ensure_ascii=False).encode("utf-8")


class Leaf(NamedTuple):
    data: bytes  # the leaf's bytes
    facts: Facts  # its public facts
    public: bytes  # their canonical JSON, as the leaf holds it


def leaf(position: int, originator_id: UUID | str, originator_version: int, topic: str,
         state: bytes, origin: Facts = None) -> Leaf:
    """The leaf bytes of one stored event, its public facts and their JSON.

    A state that is not the library's JSON (none of ours) publishes nothing."""
    if type(position) is not int or type(originator_version) is not int:
        raise ValueError("position and originator_version must be integers")
    if not isinstance(topic, str):
        raise ValueError("topic must be a string")
    kind = topic.rpartition(":")[2]
    facts: Facts = None
    public = b"null"
    if kind in PUBLISHING_KINDS:
        facts, public = _fast(kind, state, position, origin) or _reference(kind, state, position, origin)
    # canonical_json of {position, topic, public, sealed}, assembled directly in key order
    # (tests/unit/test_public_leaf.py holds it byte for byte equal to canonical_json).
    sealed = hashlib.sha256(sealed_input(_id_text(originator_id), originator_version, state))
    data = b"".join((b'{"position":', b"%d" % position, b',"public":', public, b',"sealed":"',
                     sealed.hexdigest().encode("ascii"), b'","topic":', _topic_json(topic), b"}"))
    return Leaf(data, facts, public)
