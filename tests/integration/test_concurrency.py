"""Sixteen clients race against a real HTTP server; the money rules of DESIGN §3 still hold.

A real uvicorn server listens on loopback, in front of a fresh store (SQLite file or real
PostgreSQL database). Sixteen threads, each with its own HTTP connection, mix allocations from one
fund into one programme, distributions out of that programme and a few receipts. There is far
less money than they ask for, so many requests must be refused with 409 insufficient_funds.

Threads i and i + 8 form a pair: three times during the race they send the same request with the
same Idempotency-Key at the same moment (a receipt; an allocation; a distribution). The shared
allocation and distribution each have a source of their own holding exactly enough money for one
application, so the outcome does not depend on the race: applied once, and both twins get the
same 201 (DESIGN also allows the later twin a 409 idempotency_in_flight; nothing else).

Afterwards the log and the read models must agree with exactly the requests answered 2xx."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from domain.allocations import Allocation
from domain.distributions import Distribution
from domain.idempotency import IdempotencyRecord
from domain.ids import idempotency_id
from domain.receipts import Receipt
from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, communes, districts, serving

THREADS = 16
PAIRS = THREADS // 2  # thread i and thread i + PAIRS share Idempotency-Keys
SEASON, CATEGORY, FUND = "2021", "other", "campaign"
OPENING_RECEIPTS_VND = [250_000] * 4
OPENING_ALLOCATION_VND = 100_000
RACE_RECEIPT_VND = 30_000
SHARED_RECEIPT_VND = 25_000
ALLOCATIONS_PER_THREAD = 8
DISTRIBUTIONS_PER_THREAD = 6


def event_class(aggregate: type, name: str) -> type:
    """An event class the library's @event decorator made (invisible to type checkers)."""
    cls: type = vars(aggregate)[name]
    return cls


CREATED = {"receipt": event_class(Receipt, "Recorded"),
           "allocation": event_class(Allocation, "Made"),
           "distribution": event_class(Distribution, "Made")}
APPLIED_KEY = event_class(IdempotencyRecord, "Applied")
TWIN_MAY_ALSO_GET = (409, "idempotency_in_flight")  # DESIGN §7


def pair_allocation_vnd(pair: int) -> int:
    """A shared allocation, and the one state-budget receipt (restricted to its commune) it empties."""
    return 40_000 + 1_000 * pair


def pair_distribution_lines(pair: int) -> list[int]:
    """A shared distribution's line values; its programme holds exactly their sum."""
    return [20_000, 1_000 * (pair + 1)]


def pair_season(pair: int) -> str:
    """A season of one day per pair (seasons never overlap): its own programme to race for."""
    return f"2023-dot{pair}"


def pair_day(pair: int) -> str:
    return f"2023-01-{10 + pair:02d}"


# ---- a real server --------------------------------------------------------------------------

def get(http: httpx.Client, path: str, token: str, **params: Any) -> dict[str, Any]:
    response = http.get(API + path, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def post(http: httpx.Client, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(API + path, json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


# ---- the books before the race --------------------------------------------------------------

@dataclass
class Books:
    donor_id: str
    commune: str  # of the contended programme; in the `district` token's district
    pair_communes: list[str]  # where each pair's shared allocation goes
    received: dict[str, int] = field(default_factory=dict)  # receipt id → amount
    allocated: dict[str, int] = field(default_factory=dict)  # allocation id → amount


def open_books(http: httpx.Client, services: CompositionRoot, fin: str, admin: str) -> Books:
    district = districts(services)[0]  # the `district` token's
    commune = communes(services, district)[0]
    books = Books(donor_id="", commune=commune,
                  pair_communes=[c for c in communes(services) if c != commune][:PAIRS])
    assert len(set(books.pair_communes)) == PAIRS
    books.donor_id = post(http, "/donors", fin, {"name": "Quỹ Hy Vọng", "kind": "fund"})["id"]

    def receive(fund: str, amount: int, **extra: Any) -> None:
        made = post(http, "/receipts", fin, {"donor_id": books.donor_id, "fund": fund,
                                             "received_on": "2021-03-01", "channel": "bank",
                                             "amount_vnd": amount, **extra})
        books.received[made["id"]] = amount

    def allocate(fund: str, season: str, commune: str, category: str, amount: int) -> None:
        made = post(http, "/allocations", fin, {"fund": fund, "season": season,
                                                "commune": commune, "category": category,
                                                "amount_vnd": amount, "decision_ref": "QĐ mở"})
        books.allocated[made["id"]] = amount

    for amount in OPENING_RECEIPTS_VND:
        receive(FUND, amount)
    allocate(FUND, SEASON, commune, CATEGORY, OPENING_ALLOCATION_VND)
    # Each pair's own sources, holding exactly enough for its shared request once.
    for pair, there in enumerate(books.pair_communes):
        receive("state-budget", pair_allocation_vnd(pair), restriction={"commune": there})
    receive("fund-for-the-poor", sum(sum(pair_distribution_lines(p)) for p in range(PAIRS)))
    for pair in range(PAIRS):
        post(http, "/seasons", admin, {"code": pair_season(pair), "name": f"Đợt {pair}",
                                       "starts_on": pair_day(pair), "ends_on": pair_day(pair)})
        allocate("fund-for-the-poor", pair_season(pair), commune, "tet-gifts",
                 sum(pair_distribution_lines(pair)))
    return books


# ---- the race -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    kind: str  # receipt, allocation, distribution
    caller: str  # a key of the `tokens` fixture
    body: dict[str, Any]
    key: str | None = None  # Idempotency-Key, shared with the paired thread

    @property
    def amount(self) -> int:
        if self.kind == "distribution":
            return sum(int(line["value_vnd"]) for line in self.body["lines"])
        return int(self.body["amount_vnd"])


@dataclass(frozen=True)
class Answer:
    op: Op
    status: int
    data: dict[str, Any]
    thread: int


def plan(books: Books) -> list[list[Op]]:
    """Deterministic per thread; the two threads of a pair carry the very same shared requests."""
    def receipt(amount: int, on: str) -> dict[str, Any]:
        return {"donor_id": books.donor_id, "fund": FUND, "received_on": on, "channel": "bank",
                "amount_vnd": amount}

    def allocation(amount: int, ref: str) -> dict[str, Any]:
        return {"fund": FUND, "season": SEASON, "commune": books.commune, "category": CATEGORY,
                "amount_vnd": amount, "decision_ref": ref}

    def distribution(values: list[int], season: str = SEASON, category: str = CATEGORY,
                     on: str = "2021-12-15") -> dict[str, Any]:
        return {"season": season, "commune": books.commune, "category": category,
                "distributed_on": on, "beneficiaries_count": len(values),
                "lines": [{"description": f"Áo ấm {n}", "value_vnd": v}
                          for n, v in enumerate(values)]}

    threads = []
    for i in range(THREADS):
        rng = random.Random(i)
        pair = i % PAIRS
        # Odd pairs write as admin and the district officer; even pairs as finance staff.
        writer, distributor = ("admin", "district") if pair % 2 else ("finance", "finance")
        ops = [Op("allocation", writer, allocation(rng.randrange(10, 41) * 1_000, f"QĐ {i}-{k}"))
               for k in range(ALLOCATIONS_PER_THREAD)]
        ops += [Op("distribution", distributor,
                   distribution([rng.randrange(5, 21) * 1_000, rng.randrange(5, 21) * 1_000]))
                for _ in range(DISTRIBUTIONS_PER_THREAD)]
        ops.append(Op("receipt", writer, receipt(RACE_RECEIPT_VND, "2021-03-05")))
        rng.shuffle(ops)
        shared = [
            Op("receipt", writer, receipt(SHARED_RECEIPT_VND, "2021-03-06"), key=f"r-{pair}"),
            Op("allocation", writer, {
                "fund": "state-budget", "season": SEASON, "commune": books.pair_communes[pair],
                "category": "nutrition-health", "amount_vnd": pair_allocation_vnd(pair),
                "decision_ref": f"QĐ chung {pair}"}, key=f"a-{pair}"),
            Op("distribution", distributor,
               distribution(pair_distribution_lines(pair), pair_season(pair), "tet-gifts",
                            pair_day(pair)),
               key=f"d-{pair}"),
        ]
        # In the same order in both threads of a pair, spread among the others.
        for n, op in enumerate(shared):
            ops.insert(3 + 5 * n, op)
        threads.append(ops)
    return threads


def race(base: str, tokens: dict[str, str], threads: list[list[Op]]) -> list[Answer]:
    twins = [threading.Barrier(2) for _ in range(PAIRS)]
    start = threading.Barrier(THREADS)

    def worker(i: int) -> list[Answer]:
        answers: list[Answer] = []
        with httpx.Client(base_url=base + API, timeout=60) as http:
            start.wait(timeout=30)
            for op in threads[i]:
                headers = auth(tokens[op.caller])
                if op.key is not None:
                    headers["Idempotency-Key"] = op.key
                    twins[i % PAIRS].wait(timeout=60)  # both threads send it at once
                response = http.post(f"/{op.kind}s", json=op.body, headers=headers)
                is_json = response.headers.get("content-type", "").endswith("json")
                data = response.json() if is_json else {"text": response.text}  # a bare 500
                answers.append(Answer(op, response.status_code, data, i))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker, i) for i in range(THREADS)]
        return [answer for f in futures for answer in f.result()]


# ---- reading the log ------------------------------------------------------------------------

def creations(services: CompositionRoot) -> tuple[Counter[tuple[str, UUID]], Counter[UUID]]:
    """Creation events in the log: (kind, id) → how many; idempotency record id → how many."""
    recorder, mapper = services.ledger.recorder, services.ledger.mapper
    created: Counter[tuple[str, UUID]] = Counter()
    records: Counter[UUID] = Counter()
    start = 1
    while notifications := recorder.select_notifications(start=start, limit=500):
        for n in notifications:
            event = mapper.to_domain_event(n)
            if event.originator_version != 1:
                continue
            for kind, cls in CREATED.items():
                if isinstance(event, cls):
                    created[(kind, event.originator_id)] += 1
            if isinstance(event, APPLIED_KEY):
                records[event.originator_id] += 1
        start = notifications[-1].id + 1
    return created, records


# ---- the test -------------------------------------------------------------------------------

def test_racing_clients_keep_the_money_rules(services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    services.start_projections()
    with serving(services) as base, httpx.Client(base_url=base, timeout=60) as http:
        books = open_books(http, services, fin, tokens["admin"])
        threads = plan(books)
        own = [op for ops in threads for op in ops if op.key is None]
        shared_receipts = [op for ops in threads[:PAIRS] for op in ops
                           if op.key is not None and op.kind == "receipt"]
        most_in_fund = (sum(OPENING_RECEIPTS_VND) + sum(op.amount for op in shared_receipts)
                        + sum(op.amount for op in own if op.kind == "receipt"))
        # By design the racing requests ask for far more than the contended fund can give.
        assert sum(op.amount for op in own if op.kind == "allocation") > most_in_fund + 20 * 40_000
        assert sum(op.amount for op in own if op.kind == "distribution") > most_in_fund + 5 * 40_000

        answers = race(base, tokens, threads)

        # 1. A shared key is applied once, and its twin gets the very same answer.
        by_key: dict[tuple[str, str], list[Answer]] = {}
        for a in answers:
            if a.op.key is not None:
                by_key.setdefault((a.op.caller, a.op.key), []).append(a)
        assert len(by_key) == 3 * PAIRS
        wrong_twins = []  # asserted last, so that every other rule is checked as well
        for (_, key), twins in sorted(by_key.items()):
            assert len(twins) == 2 and twins[0].thread != twins[1].thread
            applied = [t.data for t in twins if t.status == 201]
            others = [(t.status, t.data.get("code")) for t in twins if t.status != 201]
            assert applied and all(t == applied[0] for t in applied), (key, applied, others)
            wrong_twins += [f"{key}: applied once ({applied[0]['id']}), yet its twin got {o}"
                            for o in others if o != TWIN_MAY_ALSO_GET]

        # 2. Every other request was applied (201) or refused for want of money (409).
        unexpected = [(a.op.kind, a.status, a.data) for a in answers if a.op.key is None
                      and a.status != 201
                      and (a.status, a.data.get("code")) != (409, "insufficient_funds")]
        assert unexpected == [], f"{len(unexpected)} unexpected answers, first: {unexpected[:3]}"
        refused = Counter(a.op.kind for a in answers if a.status == 409)
        assert refused["allocation"] >= 20 and refused["distribution"] >= 5, refused
        assert refused["receipt"] == 0
        ok = [a for a in answers if a.status == 201]
        for a in ok:
            assert a.data["position"] > 0
            if a.op.kind == "distribution":
                assert a.data["total_vnd"] == a.op.amount, a.data
            elif a.op.kind == "allocation":
                assert a.data["amount_vnd"] == a.op.amount, a.data
            else:
                assert a.data["reference"].startswith("PT-2021-"), a.data

        # 3. Each 2xx id is exactly one creation event, and the log created nothing else.
        created, records = creations(services)
        expected = Counter({("receipt", UUID(x)): 1 for x in books.received})
        expected.update({("allocation", UUID(x)): 1 for x in books.allocated})
        expected.update({(a.op.kind, UUID(a.data["id"])): 1 for a in ok})
        assert created == expected
        keys = {idempotency_id(a.op.caller, a.op.key) for a in ok if a.op.key is not None}
        assert records == Counter(dict.fromkeys(keys, 1))

        # 4. The read models, once they reach the last answered position, agree to the đồng.
        head = max(int(a.data["position"]) for a in ok)
        assert head == services.ledger.recorder.max_notification_id()
        funds = get(http, "/balances/funds", fin, after=head)["items"]
        programmes = get(http, "/balances/programmes", fin, after=head)["items"]
        summary = get(http, "/public/summary", fin, after=head)

    unique = {(a.op.kind, a.data["id"]): a.op.amount for a in ok}
    received = sum(books.received.values()) + sum(
        v for (kind, _), v in unique.items() if kind == "receipt")
    allocated = sum(books.allocated.values()) + sum(
        v for (kind, _), v in unique.items() if kind == "allocation")
    distributed = sum(v for (kind, _), v in unique.items() if kind == "distribution")

    assert all(f["available_vnd"] >= 0 for f in funds), funds
    assert all(p["remaining_vnd"] >= 0 for p in programmes), programmes
    assert sum(f["received_vnd"] for f in funds) == received == summary["received_vnd"]
    assert sum(f["allocated_vnd"] - f["returned_vnd"] for f in funds) == allocated
    assert sum(p["allocated_vnd"] - p["returned_vnd"] for p in programmes) == allocated
    assert sum(p["distributed_vnd"] for p in programmes) == distributed == summary["distributed_vnd"]
    # The trial balance: all money received = in funds + in programmes + handed out.
    assert received == (sum(f["available_vnd"] for f in funds)
                        + sum(p["remaining_vnd"] for p in programmes) + distributed)
    # Each pair's own sources were emptied exactly once.
    assert [f["available_vnd"] for f in funds if f["fund"] == "state-budget"] == [0] * PAIRS
    pair_programmes = [p for p in programmes if p["season"] != SEASON]
    assert len(pair_programmes) == PAIRS
    assert all(p["remaining_vnd"] == 0 for p in pair_programmes), pair_programmes
    # The twin of an applied request is answered as the key's first answer, never refused.
    assert wrong_twins == [], "\n".join(wrong_twins)
