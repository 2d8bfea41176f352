"""The whole ledger against a simple model of the money rules (DESIGN §3), on SQLite and PostgreSQL.

A Hypothesis state machine drives the real application (the ledger, its store, the read models
and their runner, all wired by `ledger.bootstrap.build`) with random donors, pledges, receipts
(restricted or not, cash or goods), allocations, distributions (to registered children and to
counted groups), reversals of random earlier things, invalid input and idempotent replays.

The model predicts, for every command, whether it is accepted or refused and with which error;
it changes only when the ledger accepted the command, and only by what the command says it did
(`drawn_from`, `total_vnd`). A refused command must leave the log where it was. After every step
the read models are brought up to date and must equal the model, never negative, with the trial
balance holding: money received = money in funds + money in programmes + money distributed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from domain.errors import (
    AlreadyRecorded,
    AlreadyReversed,
    ChildElsewhere,
    DomainError,
    DuplicateSupport,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidInput,
    NotFound,
)
from domain.meta import Context
from ledger.bootstrap import CompositionRoot
from tests.conftest import PG_URL, _pg_admin, make_services

# ---- the small world the machine plays in ---------------------------------------------------

FUNDS = ("campaign", "child-protection-fund")
COMMUNES = {"06043": "180", "06016": "180", "06070": "181"}  # commune → district (areas.json)
CATEGORIES = ("warm-clothing", "tet-gifts")
SEASONS = ("2021", "2022")
ITEMS = {"Áo ấm": "chiếc", "Sữa": "hộp"}
DATES = ("2021-01-15", "2021-03-01", "2021-06-30")
NAMES = ("Nguyễn Văn An", "Công ty TNHH Hoà Bình", "Hội Chữ thập đỏ", "Đặng Thị Ánh")
RESTRICTIONS = ("none", "commune", "district", "category", "commune+category", "district+category")

MACHINE_SETTINGS = settings(max_examples=15, stateful_step_count=25, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.filter_too_much])
# A run on SQLite costs about 0.2 s (on PostgreSQL about 1.5 s): SQLite can afford more of them.
SQLITE_SETTINGS = settings(MACHINE_SETTINGS, max_examples=40)

picks = st.integers(min_value=0, max_value=10_000)
amounts = st.one_of(st.integers(1, 20).map(lambda k: k * 100_000), st.integers(1, 2_500_000))
unit_values = st.sampled_from((10_000, 150_000, 240_000))
line_specs = st.tuples(st.sampled_from(("child", "group", "goods", "child-goods", "same-child")), picks,
                       st.sampled_from(sorted(ITEMS)), st.integers(1, 100))
Error = type[DomainError]


def restriction_of(kind: str, commune: str, category: str) -> dict[str, str]:
    restriction: dict[str, str] = {}
    if "commune" in kind:
        restriction["commune"] = commune
    if "district" in kind:
        restriction["district"] = COMMUNES[commune]
    if "category" in kind:
        restriction["category"] = category
    return restriction


def restriction_text(restriction: dict[str, str]) -> str:
    """How the read model names a restriction: '' for unrestricted money."""
    return "|".join(f"{k}={restriction[k]}" for k in ("district", "commune", "category")
                    if restriction.get(k))


# ---- the model ---------------------------------------------------------------------------------


@dataclass
class MReceipt:
    id: str
    seq: int
    donor: str
    fund: str
    restriction: dict[str, str]  # as the ledger keeps it: a commune brings its district
    received_on: str
    amount_vnd: int
    item: str | None
    quantity: int
    remaining_vnd: int
    remaining_quantity: int
    bank_txn_id: str | None = None
    reversed: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.fund, restriction_text(self.restriction)

    @property
    def specificity(self) -> int:
        r = self.restriction
        return 4 * ("commune" in r) + 2 * ("district" in r) + ("category" in r)

    def allows(self, district: str, commune: str, category: str) -> bool:
        r = self.restriction
        return (r.get("district", district) == district and r.get("commune", commune) == commune
                and r.get("category", category) == category)


@dataclass
class MTranche:
    allocation_id: str
    receipt_id: str
    item: str | None
    unit_value_vnd: int
    remaining_vnd: int
    remaining_quantity: int


@dataclass
class MProgramme:
    season: str
    district: str
    commune: str
    category: str
    allocated_vnd: int = 0
    distributed_vnd: int = 0
    returned_vnd: int = 0
    tranches: list[MTranche] = field(default_factory=list)
    held: dict[str, int] = field(default_factory=dict)  # allocation id → amount

    @property
    def remaining_vnd(self) -> int:
        return self.allocated_vnd - self.distributed_vnd - self.returned_vnd

    def money(self) -> int:
        return sum(t.remaining_vnd for t in self.tranches if t.item is None)

    def stock(self, item: str) -> int:
        return sum(t.remaining_quantity for t in self.tranches if t.item == item)


@dataclass
class MAllocation:
    id: str
    programme: tuple[str, str, str]
    draws: list[dict[str, Any]]
    reversed: bool = False


@dataclass
class MDistribution:
    id: str
    programme: tuple[str, str, str]
    pieces: list[tuple[str, str, int, int]]  # allocation, receipt, amount, quantity
    children: list[str]
    beneficiaries_count: int
    total_vnd: int
    reversed: bool = False


@dataclass
class MPledge:
    id: str
    donor: str
    reversed: bool = False  # cancelled


@dataclass
class Done:
    """A command the ledger accepted, to be replayed with its Idempotency-Key."""

    command: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any]
    ctx: Context
    request_hash: str
    response: dict[str, Any]


class Unpredicted(AssertionError):
    pass


def fifo(tranches: list[MTranche], amount_vnd: int, item: str | None,
         quantity: int) -> list[tuple[MTranche, int, int]] | None:
    """(tranche, value, quantity) taken oldest first, or None if the programme holds too little.
    Takes from the tranches it is given (pass copies to plan)."""
    need = quantity if item else amount_vnd
    taken: list[tuple[MTranche, int, int]] = []
    for t in tranches:
        if need == 0:
            break
        if t.item != item or (t.remaining_quantity if item else t.remaining_vnd) == 0:
            continue
        if item:
            take = min(need, t.remaining_quantity)
            value = take * t.unit_value_vnd
            t.remaining_quantity -= take
        else:
            take = value = min(need, t.remaining_vnd)
        t.remaining_vnd -= value
        taken.append((t, value, take if item else 0))
        need -= take
    return None if need else taken


# ---- the machine --------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    """Subclasses say where the fresh database of each run comes from."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="minhbach-machine-"))
        try:
            self.url = self.fresh_database()
            try:
                self.services: CompositionRoot = make_services(self.url, self.tmp / "data")
            except BaseException:
                self.drop_database()
                raise
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.n = 0
        self.busy = False  # true from the start of a step until its checks have passed
        self.donors: list[str] = []
        self.pledges: list[MPledge] = []
        self.receipts: list[MReceipt] = []
        self.bank_txns: set[str] = set()
        self.allocations: list[MAllocation] = []
        self.distributions: list[MDistribution] = []
        self.programmes: dict[tuple[str, str, str], MProgramme] = {}
        self.children: list[str] = []
        self.child_commune: dict[str, str] = {}
        self.funds: dict[tuple[str, str], list[int]] = {}  # received, allocated, returned
        self.done: list[Done] = []

    # ---- where the data lives ---------------------------------------------------------------

    def fresh_database(self) -> str:
        raise NotImplementedError

    def drop_database(self) -> None:
        pass

    def teardown(self) -> None:
        try:
            self.services.close()
            self.drop_database()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- running a command against the model's prediction -----------------------------------

    def head(self) -> int:
        return self.services.ledger.recorder.max_notification_id() or 0

    def attempt(self, expected: Error | None, command: Callable[..., dict[str, Any]],
                **kwargs: Any) -> dict[str, Any] | None:
        """Run the command; it must be refused with `expected` (and record nothing), or, if
        `expected` is None, accepted. Every command carries its own Idempotency-Key."""
        self.busy = True
        self.n += 1
        ctx = Context(actor="finance-1", role="finance", request_id=f"req-{self.n}",
                      idempotency_key=f"key-{self.n}")
        request_hash = json.dumps(kwargs, sort_keys=True, default=str)
        head = self.head()
        name = getattr(command, "__name__", "command")
        try:
            response = command(ctx, request_hash, **kwargs)
        except DomainError as e:
            if expected is None or not isinstance(e, expected):
                raise Unpredicted(f"{name} refused with {e!r}; the model expected "
                                  f"{expected.__name__ if expected else 'success'}") from e
            assert self.head() == head, f"refused {name} moved the log from {head} to {self.head()}"
            return None
        if expected is not None:
            raise Unpredicted(f"{name} accepted ({response}); the model expected {expected.__name__}")
        assert int(response["position"]) > head
        self.done.append(Done(command, kwargs, ctx, request_hash, response))
        return response

    # ---- checks after every step --------------------------------------------------------------

    @invariant()
    def read_models_equal_the_model(self) -> None:
        self.services.runner.catch_up()
        assert self.services.runner.position() == self.head()
        queries = self.services.queries

        funds = queries.fund_balances()
        # Money and goods apart: what is available is money alone.
        goods_in = {fk: sum(r.remaining_vnd for r in self.receipts
                            if r.key == fk and r.item and not r.reversed) for fk in self.funds}
        expected_funds = [
            {"fund": fund, "restriction": key, "received_vnd": v[0], "allocated_vnd": v[1],
             "returned_vnd": v[2], "goods_value_vnd": goods_in[(fund, key)],
             "available_vnd": v[0] - v[1] + v[2] - goods_in[(fund, key)]}
            for (fund, key), v in sorted(self.funds.items())
        ]
        assert [dict(r) for r in funds] == expected_funds

        programmes = queries.programme_balances()
        expected_programmes = []
        for key, p in sorted(self.programmes.items(), key=lambda kv: (kv[0][0], kv[1].district,
                                                                       kv[0][1], kv[0][2])):
            live = [d for d in self.distributions if d.programme == key and not d.reversed]
            named = {c for d in live for c in d.children}
            expected_programmes.append({
                "season": p.season, "district": p.district, "commune": p.commune,
                "category": p.category, "allocated_vnd": p.allocated_vnd,
                "distributed_vnd": p.distributed_vnd, "returned_vnd": p.returned_vnd,
                "goods_value_vnd": p.remaining_vnd - p.money(),
                "remaining_vnd": p.money(),
                "children_reached": len(named) + sum(d.beneficiaries_count for d in live),
            })
        got = [{k: v for k, v in r.items() if k != "programme_id"} for r in programmes]
        assert got == expected_programmes

        assert all(f["available_vnd"] >= 0 for f in funds), funds
        assert all(p["remaining_vnd"] >= 0 for p in programmes), programmes
        received = sum(f["received_vnd"] for f in funds)
        # Money and goods alike: the balances show them apart.
        in_funds = sum(f["available_vnd"] + f["goods_value_vnd"] for f in funds)
        in_programmes = sum(p["remaining_vnd"] + p["goods_value_vnd"] for p in programmes)
        distributed = sum(p["distributed_vnd"] for p in programmes)
        assert received == in_funds + in_programmes + distributed, "trial balance"
        assert received == sum(r.amount_vnd for r in self.receipts if not r.reversed)
        self.busy = False

    # ---- donors, pledges, children, needs ----------------------------------------------------

    @initialize(name=st.sampled_from(NAMES),
                cash=st.lists(st.tuples(st.sampled_from(FUNDS), st.sampled_from(RESTRICTIONS),
                                        st.sampled_from(sorted(COMMUNES)),
                                        st.sampled_from(CATEGORIES), amounts),
                              min_size=1, max_size=4),
                goods=st.lists(st.tuples(st.sampled_from(sorted(ITEMS)), st.integers(1, 40),
                                         unit_values), max_size=2))
    def opening(self, name: str, cash: list[tuple[str, str, str, str, int]],
                goods: list[tuple[str, int, int]]) -> None:
        """A donor, a child, a few receipts and an allocation to start from (so that short runs
        matter)."""
        self.add_donor(name, anonymous=False)
        self.register_child("06043", name)
        for n, (fund, kind, commune, category, amount) in enumerate(cash):
            self.record_cash_receipt(0, fund, kind, commune, category, DATES[n % len(DATES)],
                                     amount, None, None)
        for item, quantity, unit_value in goods:
            self.record_goods_receipt(0, "campaign", "none", "06043", "warm-clothing", DATES[0],
                                      item, quantity, unit_value)
        self.allocate(anywhere=False, source=0, fraction=50, fund=FUNDS[0], season=SEASONS[0],
                      commune="06043", category=CATEGORIES[0], goods=False, item="Sữa",
                      amount=1, quantity=1)

    @rule(name=st.sampled_from(NAMES), anonymous=st.booleans())
    def add_donor(self, name: str, anonymous: bool) -> None:
        response = self.attempt(None, self.services.ledger.register_donor, name=name,
                                kind="individual", anonymous=anonymous)
        assert response is not None
        self.donors.append(response["id"])

    @rule(donor=picks, amount=amounts)
    def make_pledge(self, donor: int, amount: int) -> None:
        donor_id = self.donors[donor % len(self.donors)]
        response = self.attempt(None, self.services.ledger.make_pledge, donor_id=UUID(donor_id),
                                amount_vnd=amount, due_on="2021-12-31")
        assert response is not None
        self.pledges.append(MPledge(response["id"], donor_id))

    @rule(commune=st.sampled_from(sorted(COMMUNES)), name=st.sampled_from(NAMES))
    def register_child(self, commune: str, name: str) -> None:
        response = self.attempt(None, self.services.ledger.register_child, commune=commune,
                                personal={"full_name": name, "birth_year": 2015})
        assert response is not None
        self.children.append(response["id"])
        self.child_commune[response["id"]] = commune

    @rule(season=st.sampled_from(SEASONS), commune=st.sampled_from(sorted(COMMUNES)),
          category=st.sampled_from(CATEGORIES), count=st.integers(0, 60),
          estimate=st.one_of(st.just(0), amounts))
    def record_need(self, season: str, commune: str, category: str, count: int,
                    estimate: int) -> None:
        self.attempt(None, self.services.ledger.record_need, season=season, commune=commune,
                     category=category, children_count=count, estimated_vnd=estimate)

    # ---- receipts ------------------------------------------------------------------------------

    def receive(self, *, donor: int, fund: str, restriction: dict[str, str], received_on: str,
                amount_vnd: int, goods: dict[str, Any] | None, bank: int | None,
                pledge: int | None) -> None:
        donor_id = self.donors[donor % len(self.donors)]
        pledged = self.pledges[pledge % len(self.pledges)] if pledge is not None and self.pledges else None
        bank_txn_id = f"FT2103{bank:04d}" if bank is not None else None
        expected: Error | None = None
        if pledged is not None and (pledged.donor != donor_id or pledged.reversed):
            expected = InvalidInput
        elif bank_txn_id in self.bank_txns:
            expected = AlreadyRecorded
        response = self.attempt(
            expected, self.services.ledger.record_receipt, donor_id=UUID(donor_id), fund=fund,
            received_on=received_on, channel="in_kind" if goods else "bank",
            amount_vnd=None if goods else amount_vnd, in_kind=goods, restriction=restriction,
            pledge_id=UUID(pledged.id) if pledged else None, bank_txn_id=bank_txn_id)
        if response is None:
            return
        assert response["reference"] == f"PT-{received_on[:4]}-{self.position_of(response['id']):06d}"
        if bank_txn_id:
            self.bank_txns.add(bank_txn_id)
        kept = dict(restriction)
        if "commune" in kept:
            kept["district"] = COMMUNES[kept["commune"]]
        value = goods["quantity"] * goods["unit_value_vnd"] if goods else amount_vnd
        quantity = goods["quantity"] if goods else 0
        self.receipts.append(MReceipt(
            id=response["id"], seq=len(self.receipts), donor=donor_id, fund=fund, restriction=kept,
            received_on=received_on, amount_vnd=value, item=goods["item"] if goods else None,
            quantity=quantity, remaining_vnd=value, remaining_quantity=quantity,
            bank_txn_id=bank_txn_id))
        self.funds.setdefault((fund, restriction_text(kept)), [0, 0, 0])[0] += value

    def position_of(self, aggregate_id: str) -> int:
        return self.services.ledger.position_of(UUID(aggregate_id))

    @rule(donor=picks, fund=st.sampled_from(FUNDS), kind=st.sampled_from(RESTRICTIONS),
          commune=st.sampled_from(sorted(COMMUNES)), category=st.sampled_from(CATEGORIES),
          received_on=st.sampled_from(DATES), amount=amounts,
          bank=st.one_of(st.none(), st.integers(0, 5)), pledge=st.one_of(st.none(), picks))
    def record_cash_receipt(self, donor: int, fund: str, kind: str, commune: str, category: str,
                            received_on: str, amount: int, bank: int | None,
                            pledge: int | None) -> None:
        self.receive(donor=donor, fund=fund, restriction=restriction_of(kind, commune, category),
                     received_on=received_on, amount_vnd=amount, goods=None, bank=bank,
                     pledge=pledge)

    @rule(donor=picks, fund=st.sampled_from(FUNDS), kind=st.sampled_from(RESTRICTIONS),
          commune=st.sampled_from(sorted(COMMUNES)), category=st.sampled_from(CATEGORIES),
          received_on=st.sampled_from(DATES), item=st.sampled_from(sorted(ITEMS)),
          quantity=st.integers(1, 40), unit_value=unit_values)
    def record_goods_receipt(self, donor: int, fund: str, kind: str, commune: str, category: str,
                             received_on: str, item: str, quantity: int, unit_value: int) -> None:
        goods = {"item": item, "unit": ITEMS[item], "quantity": quantity, "unit_value_vnd": unit_value}
        self.receive(donor=donor, fund=fund, restriction=restriction_of(kind, commune, category),
                     received_on=received_on, amount_vnd=0, goods=goods, bank=None, pledge=None)

    # ---- allocations ---------------------------------------------------------------------------

    @rule(anywhere=st.booleans(), source=picks, fraction=st.integers(1, 150),
          fund=st.sampled_from(FUNDS), season=st.sampled_from(SEASONS),
          commune=st.sampled_from(sorted(COMMUNES)), category=st.sampled_from(CATEGORIES),
          goods=st.booleans(), item=st.sampled_from(sorted(ITEMS)), amount=amounts,
          quantity=st.integers(1, 60))
    def allocate(self, anywhere: bool, source: int, fraction: int, fund: str, season: str,
                 commune: str, category: str, goods: bool, item: str, amount: int,
                 quantity: int) -> None:
        """At what one open receipt may pay for, about `fraction`% of what it has left; or
        `anywhere`, for any amount."""
        wanted_item = item if goods else None
        open_receipts = [r for r in self.receipts if not r.reversed and r.remaining_vnd > 0]
        if not anywhere and open_receipts:
            r = open_receipts[source % len(open_receipts)]
            fund, wanted_item = r.fund, r.item
            if "commune" in r.restriction:
                commune = r.restriction["commune"]
            elif "district" in r.restriction:
                inside = [c for c, d in sorted(COMMUNES.items()) if d == r.restriction["district"]]
                commune = inside[source % len(inside)]
            category = r.restriction.get("category", category)
            left = r.remaining_quantity if r.item else r.remaining_vnd
            amount = quantity = max(1, left * fraction // 100)
        district = COMMUNES[commune]
        need = quantity if wanted_item else amount
        eligible = sorted(
            (r for r in self.receipts
             if r.fund == fund and not r.reversed and r.item == wanted_item
             and (r.remaining_quantity if wanted_item else r.remaining_vnd) > 0
             and r.allows(district, commune, category)),
            key=lambda r: (-r.specificity, r.received_on, r.seq))
        plan: list[tuple[MReceipt, int, int]] = []  # receipt, value, quantity
        for r in eligible:
            if need == 0:
                break
            take = min(need, r.remaining_quantity if wanted_item else r.remaining_vnd)
            unit = r.amount_vnd // r.quantity if wanted_item else 1
            plan.append((r, take * unit, take if wanted_item else 0))
            need -= take
        response = self.attempt(
            InsufficientFunds if need else None, self.services.ledger.allocate, fund=fund,
            season=season, commune=commune, category=category, decision_ref="QĐ 12/QĐ-UBND",
            amount_vnd=None if wanted_item else amount,
            in_kind={"item": wanted_item, "unit": ITEMS[wanted_item], "quantity": quantity}
            if wanted_item else None)
        if response is None:
            return
        assert [(d["receipt_id"], d["amount_vnd"], d["quantity"]) for d in response["drawn_from"]] == [
            (r.id, value, q) for r, value, q in plan], "FIFO: most specific first, then oldest"
        key = (season, commune, category)
        programme = self.programmes.setdefault(key, MProgramme(season, district, commune, category))
        total = 0
        for d in response["drawn_from"]:
            r = next(x for x in self.receipts if x.id == d["receipt_id"])
            r.remaining_vnd -= d["amount_vnd"]
            r.remaining_quantity -= d["quantity"]
            self.funds[r.key][1] += d["amount_vnd"]
            programme.tranches.append(MTranche(
                allocation_id=response["id"], receipt_id=r.id, item=r.item,
                unit_value_vnd=d["amount_vnd"] // d["quantity"] if d["quantity"] else 0,
                remaining_vnd=d["amount_vnd"], remaining_quantity=d["quantity"]))
            total += d["amount_vnd"]
        assert response["amount_vnd"] == total
        programme.allocated_vnd += total
        programme.held[response["id"]] = total
        self.allocations.append(MAllocation(response["id"], key, response["drawn_from"]))

    # ---- distributions ------------------------------------------------------------------------

    def supported(self, child: str, season: str, category: str) -> bool:
        """Does the child hold support of this season and category (from any programme)?"""
        return any(not d.reversed and child in d.children and d.programme[0] == season
                   and d.programme[2] == category for d in self.distributions)

    @rule(anywhere=st.booleans(), which=picks, fraction=st.integers(1, 120),
          season=st.sampled_from(SEASONS), commune=st.sampled_from(sorted(COMMUNES)),
          category=st.sampled_from(CATEGORIES),
          specs=st.lists(line_specs, min_size=1, max_size=3),
          reason=st.one_of(st.none(), st.just("áo cũ bị hỏng")), count=st.integers(1, 30))
    def distribute(self, anywhere: bool, which: int, fraction: int, season: str, commune: str,
                   category: str, specs: list[tuple[str, int, str, int]], reason: str | None,
                   count: int) -> None:
        """At an existing programme, about `fraction`% of what it holds split over the lines;
        or `anywhere`, for any amount."""
        aimed = not anywhere and bool(self.programmes)
        if aimed:
            keys = sorted(self.programmes)
            season, commune, category = keys[which % len(keys)]
        programme = self.programmes.get((season, commune, category))
        lines: list[dict[str, Any]] = []
        children: list[str] = []
        grouped = False
        money = programme.money() if programme else 0
        stocked = [i for i in sorted(ITEMS) if programme and programme.stock(i) > 0]
        for kind, pick, item, share in specs:
            line: dict[str, Any] = {"description": f"{kind} {pick}"}
            if kind == "same-child" and children:
                line["child_id"] = children[-1]  # refused: one child, two lines
                children.append(children[-1])
            elif kind.startswith("child") and len(self.children) > len(children):
                # Mostly a child of the distribution's commune; now and then anyone, whom the
                # ledger refuses unless they live there.
                here = [c for c in self.children if self.child_commune[c] == commune]
                pool = here if pick % 4 and len(here) > len(children) else self.children
                child = next(c for k in range(len(pool))
                             if (c := pool[(pick + k) % len(pool)]) not in children)
                line["child_id"] = child
                children.append(child)
            else:
                grouped = True
            goods = kind.endswith("goods")
            if aimed:  # give what the programme holds: goods if it has no money, and so on
                goods = bool(stocked) and (goods or money == 0)
            if goods:
                item = stocked[pick % len(stocked)] if aimed else item
                stock = programme.stock(item) if programme else 0
                line.update(item=item, unit=ITEMS[item],
                            quantity=max(1, stock * fraction // 100 // len(specs))
                            if aimed else share % 20 + 1)
            else:
                line["value_vnd"] = (max(1, money * fraction // 100 // len(specs)) if aimed
                                     else share * 10_000)
            lines.append(line)
        beneficiaries = count if grouped else 0
        expected: Error | None = None
        planned: list[list[tuple[MTranche, int, int]]] = []
        overrides = sum(self.supported(c, season, category) for c in children)
        away = [self.child_commune[c] for c in children if self.child_commune[c] != commune]
        if len(set(children)) != len(children):
            expected = InvalidInput
        elif programme is None:
            expected = NotFound
        elif away:
            expected = (NotFound if COMMUNES[away[0]] != COMMUNES[commune] else ChildElsewhere)
        elif overrides and not reason:
            expected = DuplicateSupport
        else:
            copies = [MTranche(**vars(t)) for t in programme.tranches]
            for line in lines:
                taken = fifo(copies, line.get("value_vnd", 0), line.get("item"),
                             line.get("quantity", 1))
                if taken is None:
                    expected = InsufficientFunds
                    break
                planned.append(taken)
        response = self.attempt(
            expected, self.services.ledger.distribute, season=season, commune=commune,
            category=category, distributed_on=f"{season}-12-01", lines=lines,
            beneficiaries_count=beneficiaries or None, duplicate_reason=reason)
        if response is None:
            return
        assert programme is not None
        total = sum(value for taken in planned for _, value, _ in taken)
        assert (response["total_vnd"], response["overrides"]) == (total, overrides)
        pieces: list[tuple[str, str, int, int]] = []
        for taken in planned:
            for copy, value, quantity in taken:
                t = next(x for x in programme.tranches if (x.allocation_id, x.receipt_id) == (
                    copy.allocation_id, copy.receipt_id))
                t.remaining_vnd -= value
                t.remaining_quantity -= quantity
                pieces.append((t.allocation_id, t.receipt_id, value, quantity))
        programme.distributed_vnd += total
        self.distributions.append(MDistribution(response["id"], (season, commune, category),
                                                pieces, children, beneficiaries, total))

    @rule(which=picks, fraction=st.integers(1, 100), count=st.integers(1, 40),
          goods=st.booleans())
    def distribute_to_a_group(self, which: int, fraction: int, count: int, goods: bool) -> None:
        """Support for a counted group out of an existing programme (no child named)."""
        self.distribute(anywhere=False, which=which, fraction=fraction, season=SEASONS[0],
                        commune="06043", category=CATEGORIES[0],
                        specs=[("goods" if goods else "group", which, "Sữa", 1)], reason=None,
                        count=count)

    # ---- reversals ----------------------------------------------------------------------------

    @rule(kind=st.sampled_from(("distribution", "allocation", "receipt", "pledge")))
    def reverse_the_latest(self, kind: str) -> None:
        self.reverse(kind, 0, latest=True)

    @rule(kind=st.sampled_from(("receipt", "allocation", "distribution", "pledge")), pick=picks,
          latest=st.booleans())
    def reverse(self, kind: str, pick: int, latest: bool) -> None:
        every: dict[str, list[Any]] = {"receipt": self.receipts, "allocation": self.allocations,
                                       "distribution": self.distributions, "pledge": self.pledges}
        things = every[kind]
        if not things:
            return
        thing = things[-1] if latest else things[pick % len(things)]
        expected: Error | None = None
        if isinstance(thing, MReceipt):
            if thing.reversed:
                expected = AlreadyReversed
            elif thing.remaining_vnd != thing.amount_vnd:
                expected = InsufficientFunds
        elif isinstance(thing, MAllocation):
            programme = self.programmes[thing.programme]
            held = sum(t.remaining_vnd for t in programme.tranches if t.allocation_id == thing.id)
            if thing.reversed:
                expected = AlreadyReversed
            elif held != programme.held[thing.id]:
                expected = InsufficientFunds
        elif isinstance(thing, MDistribution | MPledge) and thing.reversed:
            expected = AlreadyReversed
        response = self.attempt(expected, self.services.ledger.reverse, target_id=UUID(thing.id),
                                reason="ghi nhầm")
        if response is None:
            return
        assert response["target_id"] == thing.id
        if isinstance(thing, MReceipt):
            thing.reversed = True
            self.funds[thing.key][0] -= thing.amount_vnd
            # the bank transaction did happen: its corrected receipt may record it again
            self.bank_txns.discard(thing.bank_txn_id or "")
            thing.remaining_vnd = thing.remaining_quantity = 0
        elif isinstance(thing, MAllocation):
            thing.reversed = True
            programme = self.programmes[thing.programme]
            programme.returned_vnd += programme.held.pop(thing.id)
            programme.tranches = [t for t in programme.tranches if t.allocation_id != thing.id]
            for d in thing.draws:
                r = next(x for x in self.receipts if x.id == d["receipt_id"])
                r.remaining_vnd += d["amount_vnd"]
                r.remaining_quantity += d["quantity"]
                self.funds[r.key][2] += d["amount_vnd"]
        elif isinstance(thing, MDistribution):
            thing.reversed = True
            programme = self.programmes[thing.programme]
            for allocation_id, receipt_id, value, quantity in thing.pieces:
                t = next(x for x in programme.tranches
                         if (x.allocation_id, x.receipt_id) == (allocation_id, receipt_id))
                t.remaining_vnd += value
                t.remaining_quantity += quantity
            programme.distributed_vnd -= thing.total_vnd
        else:
            thing.reversed = True

    # ---- refusals and replays -------------------------------------------------------------------

    @rule(which=st.integers(0, 7), bad=st.sampled_from((0, -1, -100_000, 1.5, True,
                                                         10**15 + 1)))
    def invalid_input(self, which: int, bad: Any) -> None:
        ledger = self.services.ledger
        commands: list[tuple[Callable[..., dict[str, Any]], dict[str, Any]]] = [
            (ledger.record_receipt, {"donor_id": UUID(self.donors[0]), "fund": "campaign",
                                     "received_on": "2021-03-01", "channel": "bank",
                                     "amount_vnd": bad}),
            (ledger.record_receipt, {"donor_id": UUID(self.donors[0]), "fund": "campaign",
                                     "received_on": "2021-03-01", "channel": "in_kind",
                                     "in_kind": {"item": "Sữa", "unit": "hộp", "quantity": bad,
                                                 "unit_value_vnd": 10_000}}),
            (ledger.make_pledge, {"donor_id": UUID(self.donors[0]), "amount_vnd": bad}),
            (ledger.allocate, {"fund": "campaign", "season": "2021", "commune": "06043",
                               "category": "tet-gifts", "decision_ref": "QĐ 1", "amount_vnd": bad}),
            (ledger.allocate, {"fund": "campaign", "season": "2021", "commune": "99999",
                               "category": "tet-gifts", "decision_ref": "QĐ 1", "amount_vnd": 1}),
            (ledger.distribute, {"season": "2021", "commune": "06043", "category": "tet-gifts",
                                 "distributed_on": "2021-12-01",
                                 "lines": [{"description": "x", "value_vnd": bad}]}),
            (ledger.reverse, {"target_id": UUID(self.donors[0]), "reason": " "}),
            (ledger.register_child, {"commune": "06043", "personal": {"full_name": ""}}),
        ]
        command, kwargs = commands[which]
        self.attempt(InvalidInput, command, **kwargs)

    @precondition(lambda self: bool(self.done))
    @rule(pick=picks)
    def replay_with_the_same_key(self, pick: int) -> None:
        """The same key and body answer as the first time and record nothing; another body with
        the same key is refused."""
        self.busy = True
        done = self.done[pick % len(self.done)]
        head = self.head()
        again = done.command(done.ctx, done.request_hash, **done.kwargs)
        assert again == done.response
        assert self.head() == head
        try:
            done.command(done.ctx, done.request_hash + "(changed)", **done.kwargs)
        except IdempotencyKeyReused:
            pass
        else:
            raise AssertionError("a key reused with another body must be refused")
        assert self.head() == head


# ---- the two stores ----------------------------------------------------------------------------


class SqliteLedgerMachine(LedgerMachine):
    def fresh_database(self) -> str:
        return f"sqlite:///{self.tmp / 'ledger.db'}"


class PostgresLedgerMachine(LedgerMachine):
    """A brand-new database for every run of the machine, dropped afterwards."""

    def fresh_database(self) -> str:
        self.pg_name = f"mb_machine_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as admin:
            admin.execute(f'CREATE DATABASE "{self.pg_name}"')
        return PG_URL.rsplit("/", 1)[0] + "/" + self.pg_name

    def drop_database(self) -> None:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def require_postgres() -> None:
    """Skip (or, under CI, fail) here, outside Hypothesis, when PostgreSQL is unreachable."""
    _pg_admin().close()


class TestLedgerMachineSqlite:
    def test_the_ledger_keeps_the_money_rules(self) -> None:
        run_state_machine_as_test(SqliteLedgerMachine, settings=SQLITE_SETTINGS)


@pytest.mark.postgres
class TestLedgerMachinePostgres:
    def test_the_ledger_keeps_the_money_rules(self) -> None:
        require_postgres()
        run_state_machine_as_test(PostgresLedgerMachine, settings=MACHINE_SETTINGS)
