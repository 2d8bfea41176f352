"""Ids are one type, UUID, inside the domain and the ledger (issue 11). Events and snapshots
stored before that carry the ids nested in their payloads as text: they load to the same state,
and their public leaves are what they were."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, Snapshot

from domain import leaf as leaves
from domain.allocations import Allocation
from domain.children import Child
from domain.distributions import Distribution
from domain.ids import as_id
from domain.merkle import canonical_json
from domain.meta import Context
from domain.programmes import Programme
from tests.unit.test_rules import Book

META = Context(actor="finance-1", role="finance").meta()
RECEIPT, ALLOCATION, CHILD, DISTRIBUTION, DUPLICATE, PROGRAMME, KEPT = (uuid4() for _ in range(7))
_FIXED = ("_id", "_version", "_created_on", "_modified_on", "_pending_events")


def as_text(value: Any) -> Any:
    """The same payload as an older release wrote it: every nested id as text."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    return value


def state(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k not in _FIXED}


def histories(ids: Any) -> list[Aggregate]:
    """A programme, an allocation, a distribution and two children, their nested ids given by
    `ids` (UUIDs as today, or text as before)."""
    piece = {"allocation_id": ids(ALLOCATION), "receipt_id": ids(RECEIPT), "amount_vnd": 300,
             "quantity": 0}
    programme = Programme(id=uuid4(), season="2021", district="D1", commune="C1",
                          category="tet-gifts", meta=META)
    programme.receive(allocation_id=ALLOCATION, meta=META, pieces=[
        {"receipt_id": ids(RECEIPT), "amount_vnd": 500, "quantity": 0, "item": None,
         "received_on": "2021-01-02", "fund": "campaign"}])
    programme.distribute(distribution_id=DISTRIBUTION, pieces=[piece], meta=META)  # type: ignore[list-item]
    allocation = Allocation(
        id=uuid4(), fund="campaign", programme_id=PROGRAMME, season="2021", district="D1",
        commune="C1", category="tet-gifts", amount_vnd=500, item=None, quantity=0,
        decision_ref="QĐ-1", note=None, meta=META, override_reason=None, unit=None, after_closing=None,
        drawn_from=[{"receipt_id": ids(RECEIPT), "amount_vnd": 500, "quantity": 0, "item": None}])
    distribution = Distribution(
        id=uuid4(), programme_id=PROGRAMME, season="2021", district="D1", commune="C1",
        category="tet-gifts", distributed_on="2021-02-01", beneficiaries_count=0,
        duplicate_reason=None, overrides=0, total_vnd=300, meta=META, after_closing=None,
        lines=[{"child_id": ids(CHILD), "description": "", "item": None, "quantity": 1,
                "value_vnd": 300, "drawn_from": [piece]}])
    duplicate = Child(id=uuid4(), code="TE-1", district="D1", commune="C1", sealed={}, meta=META)
    duplicate.receive_support(distribution_id=DISTRIBUTION, season="2021", category="tet-gifts",
                              value_vnd=300, override_reason=None, meta=META)
    kept = Child(id=uuid4(), code="TE-2", district="D1", commune="C1", sealed={}, meta=META)
    duplicate.merge_into(into=KEPT, meta=META)
    kept.absorb(duplicate_id=DUPLICATE, meta=META,
                supported={"2021|tet-gifts": [ids(DISTRIBUTION)]})
    return [programme, allocation, distribution, duplicate, kept]


def test_the_transcoder_keeps_uuids_nested_in_dicts_and_lists() -> None:
    book = Book()
    made = histories(lambda i: i)
    book.ledger.save(*made)
    allocation = next(a for a in made if isinstance(a, Allocation))
    [stored] = list(book.ledger.events.get(allocation.id))
    assert stored.drawn_from[0]["receipt_id"] == RECEIPT
    assert isinstance(stored.drawn_from[0]["receipt_id"], UUID)
    encoded = book.ledger.mapper.transcoder.encode({"draws": [{"receipt_id": RECEIPT}]})
    tagged = {"_type_": "uuid_hex", "_data_": RECEIPT.hex}
    assert json.loads(encoded) == {"draws": [{"receipt_id": tagged}]}


def test_events_stored_with_text_ids_load_to_the_same_state_as_with_uuids() -> None:
    book = Book()
    new, old = histories(lambda i: i), histories(str)
    book.ledger.save(*new, *old)
    for made_now, made_before in zip(new, old, strict=True):
        now = book.ledger.find_or_none(made_now.id, Aggregate)
        before = book.ledger.find_or_none(made_before.id, Aggregate)
        assert now is not None and before is not None
        assert type(now) is type(before)
        assert state(now) == state(before), type(now).__name__
    programme = book.ledger.require(new[0].id, Programme, "programme")
    assert [(t["allocation_id"], t["receipt_id"]) for t in programme.tranches.values()] == [
        (ALLOCATION, RECEIPT)]
    kept = book.ledger.require(new[4].id, Child, "child")
    assert (kept.supported, kept.absorbed) == ({"2021|tet-gifts": [DISTRIBUTION]}, (DUPLICATE,))
    assert book.ledger.require(new[3].id, Child, "child").merged_into == KEPT
    assert book.ledger.require(old[2].id, Distribution, "distribution").child_ids == [CHILD]


@pytest.mark.parametrize("kind", [Programme, Child])
def test_snapshots_taken_with_text_ids_are_upcast(kind: type[Aggregate]) -> None:
    aggregate = next(a for a in histories(lambda i: i)[::-1] if type(a) is kind)
    taken = Snapshot.take(aggregate)
    # A snapshot of the first class version: no class_version, every id in its state as text.
    old_state = {k: v for k, v in as_text(dict(taken.state)).items() if k != "class_version"}
    if "absorbed" in old_state:
        old_state["absorbed"] = tuple(old_state["absorbed"])
    old = dataclasses.replace(taken, state=old_state)
    assert state(old.mutate(None)) == state(taken.mutate(None)) == state(aggregate)


def test_as_id_takes_both_forms_and_nothing_else() -> None:
    assert as_id(RECEIPT) is RECEIPT
    assert as_id(str(RECEIPT)) == as_id(str(RECEIPT).upper()) == RECEIPT
    for bad in ("not-an-id", 5, None):
        with pytest.raises(ValueError):
            as_id(bad)  # type: ignore[arg-type]


def test_a_leaf_with_uuid_nested_ids_publishes_what_the_same_event_with_text_ids_did() -> None:
    """The leaf of a stored event depends on its stored bytes only: an event stored with text
    ids keeps its leaf, byte for byte. An event that holds the same ids as UUIDs publishes the
    same facts; only `sealed` differs, being the digest of the (differently) stored bytes."""
    transcoder = Book().ledger.mapper.transcoder
    topic = "domain.distributions:Distribution.Made"
    attrs = {"season": "2021", "district": "D1", "commune": "C1", "category": "tet-gifts",
             "distributed_on": "2021-02-01", "total_vnd": 600, "beneficiaries_count": 0,
             "overrides": 0, "meta": {"salt": "00112233445566778899aabbccddeeff"},
             "lines": [{"child_id": c, "value_vnd": 300, "drawn_from": [
                 {"allocation_id": ALLOCATION, "receipt_id": RECEIPT, "amount_vnd": 300,
                  "quantity": 0}]} for c in (CHILD, uuid4())] + [{"child_id": None, "value_vnd": 0,
                                                                  "drawn_from": []}]}
    with_uuids, with_text = transcoder.encode(attrs), transcoder.encode(as_text(attrs))
    assert with_uuids != with_text
    new_leaf, new_facts, _ = leaves.leaf(7, DISTRIBUTION, 1, topic, with_uuids)
    old_leaf, old_facts, _ = leaves.leaf(7, str(DISTRIBUTION), 1, topic, with_text)
    assert new_facts == old_facts
    assert new_facts is not None and new_facts["named_children"] == "< 5"
    # The old event's leaf is what the leaf always was: the canonical JSON of these four.
    assert old_leaf == canonical_json({"position": 7, "topic": topic, "public": old_facts,
                                       "sealed": leaves.sealed_digest(DISTRIBUTION, 1, with_text)})
    assert new_leaf == old_leaf.replace(leaves.sealed_digest(DISTRIBUTION, 1, with_text).encode(),
                                        leaves.sealed_digest(DISTRIBUTION, 1, with_uuids).encode())
    # The leaf decoder reads both stored forms of a nested id as the same text.
    assert as_text(leaves.decode_state(with_uuids)) == leaves.decode_state(with_text)
