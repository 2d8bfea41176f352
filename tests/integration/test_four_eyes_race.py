"""The four-eyes rule under races (issue 12, item 8), on SQLite and PostgreSQL.

Two approvers and the proposer press "approve" on the same proposal at the same moment: exactly
one allocation is made, the other approver hears 409 `already_decided` and the proposer 403
`same_person`. First through a real HTTP server (one process: its keyed locks make them take
turns), then through two composition roots on one database, as two processes are (no shared
lock: the proposal's version decides, and the loser builds again on the state that beat it)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from adapters.tokens import create_token
from domain.allocations import Allocation
from domain.errors import AlreadyDecided, DomainError, SamePerson
from domain.meta import Context
from ledger.bootstrap import CompositionRoot
from tests.conftest import make_services, make_tokens
from tests.helpers import API, auth, communes, serving

ROUNDS = 4
AMOUNT_VND = 120_000_000
PROPOSER = Context(actor="ke-toan-a", role="finance")
APPROVERS = (Context(actor="ke-toan-b", role="finance"), Context(actor="quan-tri", role="admin"))


def made_allocations(services: CompositionRoot) -> list[Any]:
    made = vars(Allocation)["Made"]
    return [e for n in services.ledger.recorder.select_notifications(start=1, limit=100_000)
            if isinstance(e := services.ledger.mapper.to_domain_event(n), made)]


def fund(services: CompositionRoot, amount_vnd: int) -> None:
    donor = UUID(services.ledger.register_donor(PROPOSER, "", name="Quỹ Hy Vọng", kind="fund")["id"])
    services.ledger.record_receipt(PROPOSER, "", donor_id=donor, fund="campaign",
                                   received_on="2021-03-01", channel="bank", amount_vnd=amount_vnd)


def propose(services: CompositionRoot, commune: str, ctx: Context = PROPOSER) -> str:
    made = services.ledger.allocate(ctx, "", fund="campaign", season="2021", commune=commune,
                                    category="other", amount_vnd=AMOUNT_VND, decision_ref="QĐ 1")
    assert made.get("status") == "proposed", made
    return str(made["id"])


def test_two_approvers_and_the_proposer_at_once_over_http(services: CompositionRoot) -> None:
    services.start_projections()
    tokens = make_tokens(services)  # "finance" proposes; "admin" and "finance-2" approve
    tokens["finance-2"] = create_token(services.db, name="finance-2", role="finance")
    fund(services, ROUNDS * AMOUNT_VND)
    commune = communes(services)[0]
    finance = Context(actor="finance", role="finance")
    outcomes: Counter[tuple[str, int, str]] = Counter()
    with serving(services) as base:
        clients = {who: httpx.Client(base_url=base, headers=auth(tokens[who]), timeout=60)
                   for who in ("finance", "admin", "finance-2")}
        try:
            with ThreadPoolExecutor(len(clients)) as pool:
                for _ in range(ROUNDS):
                    proposal = propose(services, commune, finance)
                    barrier = threading.Barrier(len(clients))

                    def press(who: str, proposal: str = proposal,
                              barrier: threading.Barrier = barrier) -> tuple[str, int, str]:
                        barrier.wait()
                        response = clients[who].post(f"{API}/proposals/{proposal}/approve", json={})
                        body = response.json()
                        return who, response.status_code, body.get("code") or body["status"]

                    round_ = Counter(f.result() for f in [pool.submit(press, w) for w in clients])
                    assert round_[("finance", 403, "same_person")] == 1, round_
                    assert sum(n for (who, status, _), n in round_.items() if status == 201) == 1, round_
                    assert sum(n for (_, status, code), n in round_.items()
                               if (status, code) == (409, "already_decided")) == 1, round_
                    outcomes.update(round_)
        finally:
            for c in clients.values():
                c.close()
    made = made_allocations(services)
    assert len(made) == ROUNDS
    assert len({e.meta["proposal"]["id"] for e in made}) == ROUNDS
    assert {e.meta["actor"] for e in made} <= {"admin", "finance-2"}


def test_two_processes_approve_the_same_proposal_at_once(database_url: str, tmp_path: Path) -> None:
    one = make_services(database_url, tmp_path / "data")
    two = make_services(database_url, tmp_path / "data")
    try:
        fund(one, ROUNDS * AMOUNT_VND)
        commune = communes(one)[0]
        wins: Counter[str] = Counter()
        for _ in range(ROUNDS):
            proposal = UUID(propose(one, commune))
            barrier = threading.Barrier(3)
            results: dict[str, Any] = {}

            def approve(name: str, services: CompositionRoot, ctx: Context,
                        proposal: UUID = proposal, barrier: threading.Barrier = barrier,
                        results: dict[str, Any] = results) -> None:
                barrier.wait()
                try:
                    results[name] = services.ledger.approve_proposal(ctx, "", proposal_id=proposal)
                except DomainError as e:
                    results[name] = e

            threads = [threading.Thread(target=approve, args=args) for args in (
                ("one", one, APPROVERS[0]), ("two", two, APPROVERS[1]), ("proposer", two, PROPOSER))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert isinstance(results["proposer"], SamePerson), results
            done = [n for n in ("one", "two") if isinstance(results[n], dict)]
            assert len(done) == 1, results
            [lost] = {"one", "two"} - set(done)
            assert isinstance(results[lost], AlreadyDecided), results
            wins[done[0]] += 1
        made = made_allocations(one)
        assert len(made) == ROUNDS and sum(e.amount_vnd for e in made) == ROUNDS * AMOUNT_VND
        one.runner.catch_up()
        row = one.db.query_one("SELECT allocated_vnd FROM fund_balances")
        assert row is not None and int(row["allocated_vnd"]) == ROUNDS * AMOUNT_VND
        pending = one.db.query("SELECT proposal_id FROM proposals WHERE status = 'pending'")
        assert pending == []
    finally:
        one.close()
        two.close()


def test_an_approval_racing_a_direct_allocation_of_the_same_money_pays_once(
        services: CompositionRoot) -> None:
    """A proposal reserves nothing: when a direct allocation (below the amount) takes the money
    at the moment of approval, one of them is refused `insufficient_funds`, never both paid
    (what one leaves, at most 21.000.000 ₫ a round, never pays for both)."""
    commune = communes(services)[0]
    for n in range(ROUNDS):
        fund(services, AMOUNT_VND)
        proposal = UUID(propose(services, commune))
        barrier = threading.Barrier(2)

        def approve(proposal: UUID = proposal, barrier: threading.Barrier = barrier) -> object:
            barrier.wait()
            try:
                return services.ledger.approve_proposal(APPROVERS[1], "", proposal_id=proposal)
            except DomainError as e:
                return e

        def spend(barrier: threading.Barrier = barrier) -> object:
            barrier.wait()
            try:
                return services.ledger.allocate(PROPOSER, "", fund="campaign", season="2021",
                                                commune=communes(services)[1], category="other",
                                                amount_vnd=99_000_000, decision_ref="QĐ 2")
            except DomainError as e:
                return e

        with ThreadPoolExecutor(2) as pool:
            results = [f.result() for f in (pool.submit(approve), pool.submit(spend))]
        assert sum(isinstance(r, dict) for r in results) == 1, results
        assert [getattr(r, "code", None) for r in results if not isinstance(r, dict)] == [
            "insufficient_funds"]
        services.runner.catch_up()
        row = services.db.query_one("SELECT received_vnd, allocated_vnd FROM fund_balances")
        assert row is not None and int(row["allocated_vnd"]) <= int(row["received_vnd"])
        assert int(row["received_vnd"]) == (n + 1) * AMOUNT_VND
