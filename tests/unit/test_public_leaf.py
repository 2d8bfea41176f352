"""The public leaf (docs/verifiable-log.md §1): its encoding, its salt, and the verifier's own copy
of the table of what each event publishes, which must agree with domain/leaf.py exactly."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain import leaf as leaves
from domain.merkle import canonical_json, leaf_hash
from domain.meta import Context

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_export.py"
_spec = importlib.util.spec_from_file_location("verify_export", TOOL)
assert _spec and _spec.loader
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

EXAMPLE_STATE = ('{"amount_vnd":500000,"channel":"bank","donor_name":"Ẩn danh","fund":"campaign",'
                 '"goods":null,"meta":{"salt":"00112233445566778899aabbccddeeff"},'
                 '"mobilised_by":null,"received_on":"2021-03-01","restriction":{}}').encode()


def test_the_documented_example() -> None:
    data, facts, _ = leaves.leaf(42, "7C9E6679-7425-40DE-944B-E07FC1F90AE7", 1,
                              "domain.receipts:Receipt.Recorded", EXAMPLE_STATE)
    assert data.decode() == (
        '{"position":42,"public":{"amount_vnd":500000,"channel":"bank","donor":"Ẩn danh",'
        '"fund":"campaign","goods":null,"mobilised_by":null,"received_on":"2021-03-01",'
        '"reference":"PT-2021-000042","restriction":{}},'
        '"sealed":"a6d04fee495b1c3f69f4360703b347eec0e2d8ed9a0d1f2c152e05f99044e64c",'
        '"topic":"domain.receipts:Receipt.Recorded"}')
    assert leaf_hash(data).hex() == "639d05b1105a871c799b1e0ee29fd6a471eed921697d271b62f405a85fe5fbbe"
    sealed = hashlib.sha256(canonical_json({
        "originator_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "originator_version": 1,
        "state": base64.b64encode(EXAMPLE_STATE).decode()})).hexdigest()
    assert json.loads(data)["sealed"] == sealed and facts == json.loads(data)["public"]


def test_nothing_private_is_published() -> None:
    state = json.dumps({
        "donor_id": {"_type_": "uuid_hex", "_data_": uuid4().hex}, "fund": "campaign",
        "received_on": "2021-03-01", "channel": "bank", "amount_vnd": 1, "goods": None,
        "restriction": {"commune": "X", "district": "Y"}, "pledge_id": None,
        "bank_txn_id": "FT123", "mobilised_by": "Hội LHPN", "note": "gọi 0912345678",
        "donor_name": "Ẩn danh",
        "meta": Context(actor="thu-quy", role="finance", request_id="req-1").meta("gọi 0912345678"),
    }, ensure_ascii=False).encode()
    data, _, _ = leaves.leaf(7, uuid4(), 1, "domain.receipts:Receipt.Recorded", state)
    text = data.decode()
    for private in ("FT123", "0912345678", "thu-quy", "req-1", "donor_id", "pledge", "salt"):
        assert private not in text
    lines = [{"child_id": str(uuid4()), "description": "Áo cho em Lò Thị Mai", "value_vnd": 5,
              "drawn_from": []}, {"child_id": None, "description": "nhóm", "value_vnd": 5}]
    made = json.dumps({"season": "2021", "commune": "c", "district": "d", "category": "other",
                       "lines": lines, "total_vnd": 10, "beneficiaries_count": 3,
                       "overrides": 0, "distributed_on": "2021-04-01"}).encode()
    data, facts, _ = leaves.leaf(8, uuid4(), 1, "domain.distributions:Distribution.Made", made)
    assert facts is not None and facts["named_children"] == "< 5"  # one child: a small cell
    assert lines[0]["child_id"] not in data.decode() and "Mai" not in data.decode()


def test_every_event_carries_a_fresh_128_bit_salt() -> None:
    ctx = Context(actor="a", role="finance")
    salts = {ctx.meta()["salt"] for _ in range(50)}
    assert len(salts) == 50 and all(len(s) == 32 and int(s, 16) >= 0 for s in salts)


text = st.one_of(st.none(), st.text(max_size=8), st.integers(-3, 10**6), st.booleans())
attrs = st.dictionaries(st.sampled_from([
    "amount_vnd", "fund", "received_on", "channel", "goods", "restriction", "donor_name",
    "mobilised_by", "season", "district", "commune", "category", "item", "quantity", "lines",
    "total_vnd", "beneficiaries_count", "overrides", "distributed_on", "due_on",
    "children_count", "estimated_vnd", "note", "after_closing"]), st.one_of(
        text, st.dictionaries(st.sampled_from(["item", "unit", "quantity", "district", "commune",
                                               "category", "season", "reason", "x"]), text,
                              max_size=4),
        st.lists(st.dictionaries(st.sampled_from(["child_id", "x"]), text, max_size=2), max_size=3)))
kinds = st.sampled_from(sorted(leaves.ORIGIN_KINDS | {
    "Need.Surveyed", "Receipt.Reversed", "Allocation.Reversed", "Distribution.Reversed",
    "Pledge.Cancelled", "Receipt.Drawn", "Donor.Registered", "Child.Registered", "Other.Thing"}))


@given(kinds, attrs, st.integers(1, 10**7), st.one_of(st.none(), st.dictionaries(
    st.sampled_from(["amount_vnd", "fund"]), st.integers(0, 9), max_size=2)))
def test_the_verifier_publishes_exactly_what_the_server_does(
        kind: str, a: dict[str, Any], position: int, origin: dict[str, Any] | None) -> None:
    assert tool.public_facts(kind, a, position, origin) == leaves.public_facts(kind, a, position, origin)


@given(kinds, attrs, st.integers(1, 10**7), st.integers(1, 5))
def test_the_verifier_builds_the_same_leaf_bytes(kind: str, a: dict[str, Any], position: int,
                                                 version: int) -> None:
    state = json.dumps(a, ensure_ascii=False).encode()
    oid = uuid4()
    ours, _, _ = leaves.leaf(position, oid, version, f"domain.x:{kind}", state)
    theirs = tool.Leaves().leaf(position, str(oid), version, f"domain.x:{kind}", state)
    assert ours == theirs
    assert tool.parse_public_leaf(ours)["position"] == position


@given(st.text(max_size=20), attrs, st.integers(1, 10**7))
def test_only_the_publishing_kinds_publish_anything(kind: str, a: dict[str, Any], position: int) -> None:
    # leaf() skips decoding the state of every other kind: they must publish nothing whatever it holds.
    if kind not in leaves.PUBLISHING_KINDS:
        assert leaves.public_facts(kind, a, position, {"amount_vnd": 1}) is None


states = st.one_of(attrs.map(lambda a: json.dumps(a, ensure_ascii=False).encode()), st.binary(max_size=40))


@given(kinds | st.text(max_size=12), states, st.integers(1, 10**7), st.integers(1, 5))
def test_the_leaf_is_the_canonical_json_of_its_four_fields(kind: str, state: bytes, position: int,
                                                           version: int) -> None:
    # The leaf and sealed-digest inputs are assembled directly; they must stay canonical JSON
    # byte for byte, for any topic and any stored bytes.
    oid = uuid4()
    topic = f"domain.x:{kind}"
    data, facts, _ = leaves.leaf(position, oid, version, topic, state)
    sealed = hashlib.sha256(canonical_json({"originator_id": str(oid), "originator_version": version,
                                            "state": base64.b64encode(state).decode()})).hexdigest()
    assert leaves.sealed_digest(oid, version, state) == sealed
    assert data == canonical_json({"position": position, "topic": topic, "public": facts, "sealed": sealed})


class _Reading(dict[str, Any]):
    """The attributes, noting every key public_facts reads."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


@given(st.sampled_from(sorted(leaves.PUBLISHING_KINDS)), attrs, st.integers(1, 10**7))
def test_the_fast_path_decodes_every_attribute_the_facts_read(kind: str, a: dict[str, Any],
                                                              position: int) -> None:
    assert set(leaves.READS) == leaves.PUBLISHING_KINDS
    reading = _Reading(a)
    leaves.public_facts(kind, reading, position, {"amount_vnd": 1})
    assert reading.read <= set(leaves.READS[kind])


tag = st.one_of(st.uuids().map(lambda u: {"_type_": "uuid_hex", "_data_": u.hex}),
                st.dates().map(lambda d: {"_type_": "date_iso", "_data_": d.isoformat()}))
odd = st.one_of(st.text(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.booleans(),
                st.none(), tag)
odd_values = st.recursive(odd, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4) | st.sampled_from(
        ["_type_", "_data_", "child_id", "district", "season", "item", "unit"]), inner, max_size=3)),
    max_leaves=8)
odd_states = st.one_of(
    st.dictionaries(st.sampled_from(sorted({k for keys in leaves.READS.values() for k in keys}
                                           | {"note", "meta"})), odd_values, max_size=8)
    .map(lambda a: json.dumps(a, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.binary(max_size=40), st.sampled_from([b'{"amount_vnd":NaN}', b'{"amount_vnd":1E400}',
                                             b'{"_type_":"uuid_hex","_data_":"00"}', b'[1]']))


@given(st.sampled_from(sorted(leaves.PUBLISHING_KINDS)), odd_states, st.integers(1, 10**7),
       st.one_of(st.none(), st.dictionaries(st.sampled_from(["amount_vnd", "fund"]),
                                            st.integers(-2**70, 2**70) | st.floats(), max_size=2)))
def test_the_fast_path_answers_as_the_standard_library_would_or_not_at_all(
        kind: str, state: bytes, position: int, origin: dict[str, Any] | None) -> None:
    # orjson decodes and encodes the facts; wherever it could differ from the json module (floats,
    # integers beyond 64 bits, NaN, tags), the reference path must be the one that answers.
    fast = leaves._fast(kind, state, position, origin)
    assert fast is None or fast == leaves._reference(kind, state, position, origin)


def test_the_fast_path_answers_for_the_states_the_ledger_writes() -> None:
    # Else the property above would hold vacuously.
    assert leaves._fast("Receipt.Recorded", EXAMPLE_STATE, 7, None) == leaves._reference(
        "Receipt.Recorded", EXAMPLE_STATE, 7, None)
    assert leaves._fast("Receipt.Recorded", EXAMPLE_STATE, 7, None) is not None
    for unusual in (b'{"amount_vnd":1.5}', b'{"amount_vnd":%d}' % 2**64, b'{"amount_vnd":NaN}'):
        assert leaves._fast("Receipt.Recorded", unusual, 7, None) is None
