"""The Proposal aggregate's own rules (domain/proposals.py), without a ledger or a store."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AlreadyDecided, DomainError, InvalidInput, NotAllowed, SamePerson
from domain.meta import Context
from domain.proposals import Proposal, needs_second_person

PEOPLE = st.tuples(st.sampled_from(["an", "binh", "chi"]),
                   st.sampled_from(["finance", "admin", "district", "auditor"]))
META = Context(actor="an", role="finance").meta()


def proposed(proposer: str = "an", role: str = "finance") -> Proposal:
    return Proposal.propose(id=uuid.uuid4(), kind="allocation", arguments={"amount_vnd": 2},
                            amount_vnd=2, proposer=proposer, proposer_role=role, meta=META)


@given(st.integers(1, 10**15), st.integers(0, 10**15))
def test_only_a_value_strictly_above_the_amount_waits(value: int, amount: int) -> None:
    assert needs_second_person(value, amount) == (value > amount)
    assert not needs_second_person(amount, amount)


@given(st.lists(st.tuples(PEOPLE, st.booleans()), max_size=8))
def test_a_proposal_is_decided_once_never_approved_by_its_proposer(
        decisions: list[tuple[tuple[str, str], bool]]) -> None:
    proposal = proposed()
    taken = []
    for (who, role), approving in decisions:
        try:
            if approving:
                proposal.approve(by=who, role=role, result_id=uuid.uuid4(), reason=None, meta=META)
            else:
                proposal.reject(by=who, role=role, reason="không", meta=META)
        except DomainError as e:
            expected = (NotAllowed if role not in ("finance", "admin")
                        else SamePerson if approving and who == "an"
                        else AlreadyDecided)
            assert type(e) is expected
            continue
        assert role in ("finance", "admin") and not taken
        assert not (approving and who == "an")
        taken.append((who, approving))
    if taken:
        [(who, approving)] = taken
        assert (proposal.status, proposal.decided_by) == ("approved" if approving else "rejected", who)
    else:
        assert (proposal.status, proposal.decided_by) == ("pending", None)
    assert proposal.version == 1 + len(taken)  # a refused decision records no event


def test_a_proposal_is_made_by_someone_who_may_decide_and_a_rejection_has_a_reason() -> None:
    with pytest.raises(NotAllowed):
        proposed(role="district")
    with pytest.raises(InvalidInput):
        Proposal.propose(id=uuid.uuid4(), kind="distribution", arguments={}, amount_vnd=1,
                         proposer="an", proposer_role="finance", meta=META)
    with pytest.raises(InvalidInput):
        proposed().reject(by="binh", role="finance", reason="", meta=META)
