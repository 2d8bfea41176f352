"""A large, realistic event log, made fast.

Every event comes from the Ledger's own command methods (`register_donor`, `record_receipt`,
`allocate`, `distribute`, `reverse`, ...), so every money rule and every event payload is exactly
what the service writes. Only two things differ, to go fast:

* the Ledger's reads are answered from memory: everything in the log was written by this generator,
  so it keeps every aggregate it wrote (`find`), and it answers the open-receipts query from its own
  FIFO lists instead of a read model;
* saves are batched: the aggregates of many commands are written by one `ledger.save(...)`, in the
  order they were first touched, so each aggregate's events keep their order and a donor, pledge,
  receipt or programme is always in the log before anything that refers to it.

The mix, per 100 commands or so: 50 receipts (60% bank transfers with their bank-transaction claim,
30% cash, 10% goods; one in five earmarked for a district), 16 allocations, 14 distributions (to
registered children or to counted groups), 2 pledges, and a few receipt reversals and pledge
cancellations; up front, donors, the needs survey and the children's registrations.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from itertools import islice
from types import SimpleNamespace
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import money
from domain.areas import Area
from domain.children import Child
from domain.donors import Donor, Pledge
from domain.errors import DomainError, DuplicateSupport
from domain.goods import goods_key
from domain.ids import seasons_id
from domain.meta import Context
from domain.programmes import Programme
from domain.receipts import Receipt
from domain.seasons import Seasons
from ledger.application import Ledger
from ledger.command_reads import CommandReads

SEASON = "2021"
FUNDS = tuple(money.FUNDS)
CATEGORIES = tuple(money.CATEGORIES)
GOODS: tuple[dict[str, Any], ...] = (
    {"item": "Áo ấm trẻ em", "unit": "chiếc", "unit_value_vnd": 150_000},
    {"item": "Sữa bột", "unit": "hộp", "unit_value_vnd": 250_000},
)
DONOR_KINDS = (("individual", 60), ("business", 25), ("organisation", 10), ("fund", 3), ("agency", 2))
ETHNICITIES = ("Tày", "Nùng", "Kinh", "Dao", "Sán Chay", "H'Mông")
BATCH_AGGREGATES = 800  # aggregates per ledger.save(...)
CANDIDATES = 6  # open receipts an allocation is sized against
COMMANDS = (("receipt", 50), ("allocation", 16), ("distribution", 14), ("pledge", 2),
            ("reverse_receipt", 1), ("cancel_pledge", 0.3))
MAX_SKIPPED_SHARE = 0.5  # more refused commands than this means the generator is out of step

A = TypeVar("A", bound=Aggregate)
Progress = Callable[[int], None]


class BatchedLedger:
    """Runs the Ledger's commands against memory, and saves their aggregates in batches."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.known: dict[UUID, Aggregate] = {}
        self.touched: dict[UUID, Aggregate] = {}
        self.saved_events = 0
        self.topics: Counter[str] = Counter()
        self.on_new: list[Callable[[Aggregate], None]] = []

    def __enter__(self) -> BatchedLedger:
        ledger = self.ledger
        self._open_receipts = ledger.open_receipts
        # Reference data written before the batch (the season opened for it) is read from memory
        # too: a command that doesn't find the season is refused.
        calendar = ledger.find_or_none(seasons_id(), Seasons)
        if calendar is not None:
            self.known[calendar.id] = calendar
        ledger.save = self._collect  # type: ignore[method-assign, assignment]
        ledger.find_or_none = self._find  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for name in ("save", "find_or_none"):
            vars(self.ledger).pop(name, None)
        self.ledger.open_receipts = self._open_receipts

    def _find(self, aggregate_id: UUID, cls: type[A], reads: CommandReads | None = None) -> A | None:
        found = self.known.get(aggregate_id)  # the batch's memory stands in for any command's reads
        return found if isinstance(found, cls) else None

    def _collect(self, *aggregates: Aggregate) -> list[Any]:
        """Stands in for Ledger.save inside a command: remember, don't write yet."""
        recordings = []
        for a in aggregates:
            if a.id not in self.known:
                self.known[a.id] = a
                for hook in self.on_new:
                    hook(a)
            self.touched.setdefault(a.id, a)
            recordings += [SimpleNamespace(domain_event=e, notification=SimpleNamespace(id=0))
                           for e in a.pending_events]
        return recordings

    def pending_events(self) -> int:
        return sum(len(a.pending_events) for a in self.touched.values())

    def flush(self) -> None:
        if self.touched:
            recordings = Ledger.save(self.ledger, *self.touched.values())
            self.saved_events += len(recordings)
            self.topics.update(type(r.domain_event).__qualname__ for r in recordings)
            self.touched.clear()


class Generator:
    def __init__(self, ledger: Ledger, communes: list[Area], *, seed: int = 2021) -> None:
        self.ledger = ledger
        self.batch = BatchedLedger(ledger)
        self.batch.on_new.append(self._remember)
        self.rng = random.Random(seed)
        # The plan supports the extremely difficult communes only (the ledger refuses the rest).
        self.communes = [c for c in communes if c.extremely_difficult] or communes
        self.donors: list[UUID] = []
        self.pledges: list[Pledge] = []
        # Open receipts, oldest first: by (fund, goods key text or "", district or "" when
        # unrestricted).
        self.open: dict[tuple[str, str, str], deque[Receipt]] = {}
        self.receipts: list[Receipt] = []
        self.programmes: list[Programme] = []
        self.children: dict[str, list[Child]] = {}
        self.commands: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.txn = 0

    # ---- the run ----------------------------------------------------------------------------

    def run(self, events: int, progress: Progress | None = None) -> Counter[str]:
        """Write about `events` events; returns how many of each type were written."""
        if not any(s["code"] == SEASON for s in self.ledger.seasons()):
            self.ledger.open_season(self.ctx(), "bench-season", code=SEASON, name=f"Năm {SEASON}",
                                    starts_on=f"{SEASON}-01-01", ends_on=f"{SEASON}-12-31")
        with self.batch:
            self.ledger.open_receipts = self._open_receipts
            self._setup(events - self.batch.saved_events)  # a later run adds in proportion
            names = [c for c, _ in COMMANDS]
            weights = [w for _, w in COMMANDS]
            while self.batch.saved_events + self.batch.pending_events() < events:
                self._command(self.rng.choices(names, weights)[0])
                if len(self.batch.touched) >= BATCH_AGGREGATES:
                    self.batch.flush()
                    if progress:
                        progress(self.batch.saved_events)
            self.batch.flush()
        tried = sum(self.commands.values()) + sum(self.skipped.values())
        if sum(self.skipped.values()) > MAX_SKIPPED_SHARE * tried:
            raise RuntimeError(f"the ledger refused too many generated commands: {dict(self.skipped)}")
        return self.batch.topics

    def _command(self, name: str, *args: Any) -> None:
        try:
            if getattr(self, name)(*args):
                self.commands[name] += 1
        except DomainError:
            self.skipped[name] += 1

    def _setup(self, events: int) -> None:
        for _ in range(max(50, events // 200)):
            self._command("donor")
            self._flush_if_full()
        for commune in self.communes:
            if commune.extremely_difficult:
                for category in CATEGORIES[:4]:
                    self._command("need", commune, category)
        for _ in range(max(50, events // 50)):
            self._command("child")
            self._flush_if_full()
        self.batch.flush()

    def _flush_if_full(self) -> None:
        # One transaction of tens of thousands of events stalls in the store's pipelined INSERT
        # (seen at 1,000,000 events: 25,000 in one save); batches stay at BATCH_AGGREGATES.
        if len(self.batch.touched) >= BATCH_AGGREGATES:
            self.batch.flush()

    def _remember(self, a: Aggregate) -> None:
        if isinstance(a, Receipt):
            self.receipts.append(a)
            key = (a.fund, a.goods_key.text() if a.goods_key else "", a.restriction.get("district", ""))
            if not a.restriction.get("commune") and not a.restriction.get("category"):
                self.open.setdefault(key, deque()).append(a)
        elif isinstance(a, Programme):
            self.programmes.append(a)
        elif isinstance(a, Child):
            self.children.setdefault(a.commune, []).append(a)
        elif isinstance(a, Pledge):
            self.pledges.append(a)
        elif isinstance(a, Donor):
            self.donors.append(a.id)

    def _open_receipts(self, fund: str, goods: str | None, district: str, commune: str,
                       category: str) -> Iterator[UUID]:
        """Stands in for the open-receipts read model: earmarked for the district first, oldest
        first; drops receipts that are used up or reversed as it passes them."""
        for key in ((fund, goods or "", district), (fund, goods or "", "")):
            pool = self.open.get(key, deque())
            while pool and (pool[0].reversed or not _remaining(pool[0])):
                pool.popleft()
            for r in islice(pool, CANDIDATES * 2):
                if not r.reversed and _remaining(r):
                    yield r.id

    def ctx(self) -> Context:
        return Context(actor="bench", role="finance", request_id=str(uuid.uuid4()))

    def day(self) -> str:
        return (date(2021, 1, 1) + timedelta(days=self.rng.randrange(365))).isoformat()

    # ---- commands ---------------------------------------------------------------------------

    def donor(self) -> bool:
        kind = self.rng.choices([k for k, _ in DONOR_KINDS], [w for _, w in DONOR_KINDS])[0]
        n = len(self.donors)
        self.ledger.register_donor(self.ctx(), "bench", name=f"Nhà hảo tâm số {n:05d}", kind=kind,
                                   public_name=f"Đơn vị {n:05d}" if kind != "individual" else None,
                                   anonymous=self.rng.random() < 0.15)
        return True

    def need(self, commune: Area, category: str) -> bool:
        self.ledger.record_need(self.ctx(), "bench", season=SEASON, commune=commune.code,
                                category=category, children_count=self.rng.randrange(20, 400),
                                estimated_vnd=self.rng.randrange(50, 2000) * 1_000_000,
                                note="Khảo sát đầu năm")
        return True

    def child(self) -> bool:
        tag = uuid.uuid4().hex
        self.ledger.register_child(self.ctx(), "bench", commune=self.rng.choice(self.communes).code,
                                   personal={"full_name": f"Hoàng Văn {tag[:6]}",
                                             "birth_year": date.today().year - self.rng.randrange(4, 16),
                                             "sex": self.rng.choice(("male", "female")),
                                             "ethnicity": self.rng.choice(ETHNICITIES),
                                             "guardian_name": f"Hoàng Thị {tag[6:12]}",
                                             "circumstances": "Hộ nghèo, mồ côi cha"})
        return True

    def pledge(self) -> bool:
        self.ledger.make_pledge(self.ctx(), "bench", donor_id=self.rng.choice(self.donors),
                                amount_vnd=self.rng.randrange(1, 100) * 1_000_000, due_on=self.day(),
                                note="Cam kết tại lễ phát động")
        return True

    def cancel_pledge(self) -> bool:
        open_pledges = [p for p in self.pledges[-50:] if not p.cancelled]
        if not open_pledges:
            return False
        self.ledger.reverse(self.ctx(), "bench", target_id=self.rng.choice(open_pledges).id,
                            reason="Nhà tài trợ rút cam kết")
        return True

    def receipt(self) -> bool:
        rng = self.rng
        args: dict[str, Any] = {"fund": rng.choice(FUNDS), "received_on": self.day()}
        roll = rng.random()
        if roll < 0.6:
            self.txn += 1
            args.update(channel="bank", amount_vnd=rng.randrange(1, 500) * 100_000,
                        bank_txn_id=f"FT21{self.txn:010d}")
        elif roll < 0.9:
            args.update(channel="cash", amount_vnd=rng.randrange(1, 200) * 50_000)
        else:
            args.update(channel="in_kind", in_kind={**rng.choice(GOODS), "quantity": rng.randrange(20, 300)})
        if rng.random() < 0.2:
            args["restriction"] = {"district": str(rng.choice(self.communes).parent)}
        pledge = rng.choice(self.pledges[-20:]) if self.pledges and rng.random() < 0.1 else None
        if pledge is not None and not pledge.cancelled:
            args.update(donor_id=pledge.donor_id, pledge_id=pledge.id)
        else:
            args["donor_id"] = rng.choice(self.donors)
        if rng.random() < 0.3:
            args["note"] = "Chuyển khoản ủng hộ trẻ em"
        self.ledger.record_receipt(self.ctx(), "bench", **args)
        return True

    def reverse_receipt(self) -> bool:
        for _ in range(20):
            r = self.rng.choice(self.receipts[-500:])
            if not r.reversed and r.remaining_vnd == r.amount_vnd:
                self.ledger.reverse(self.ctx(), "bench", target_id=r.id, reason="Ghi nhầm quỹ")
                return True
        return False

    def allocation(self) -> bool:
        rng = self.rng
        fund = rng.choice(FUNDS)
        commune = rng.choice(self.communes)
        district = str(commune.parent)
        category = rng.choice(CATEGORIES)
        kind = rng.choice(GOODS) if rng.random() < 0.15 else None
        item = str(kind["item"]) if kind else None
        goods = goods_key(str(kind["item"]), str(kind["unit"])).text() if kind else None
        candidates = [self.batch.known[i] for i in self._open_receipts(fund, goods, district,
                                                                        commune.code, category)]
        available = sum(_remaining(r) for r in candidates[:CANDIDATES] if isinstance(r, Receipt))
        if not available:
            return False
        args: dict[str, Any] = {}
        if item:
            assert kind is not None
            args["in_kind"] = {"item": item, "unit": kind["unit"],
                               "quantity": min(available, rng.randrange(20, 400))}
        else:
            args["amount_vnd"] = min(available, rng.randrange(10, 600) * 100_000)
        self.ledger.allocate(self.ctx(), "bench", fund=fund, season=SEASON, commune=commune.code,
                             category=category, decision_ref=f"QĐ {rng.randrange(1, 999)}/QĐ-UBND",
                             note="Theo quyết định phân bổ", **args)
        return True

    def distribution(self) -> bool:
        if not self.programmes:
            return False
        rng = self.rng
        programme = rng.choice(self.programmes)
        # Sized from the programme's public state; a line it can't pay is refused and skipped.
        stock = {str(g["item"]): programme.stock(str(g["item"]), str(g["unit"])) for g in GOODS}
        units = {str(g["item"]): str(g["unit"]) for g in GOODS}
        goods_vnd = sum(stock[str(g["item"])] * int(g["unit_value_vnd"]) for g in GOODS)
        held = {"": programme.remaining_vnd - goods_vnd, **stock}
        item = next((k for k, v in stock.items() if v), None)
        count = rng.randrange(1, 6)
        per_line = min(held[item or ""] // count, rng.randrange(3, 20) * (1 if item else 100_000))
        if per_line <= 0:
            return False
        waiting = [c for c in self.children.get(programme.commune, [])
                   if _not_yet_supported(c, programme.category)][:count]
        named = waiting if rng.random() < 0.6 else []
        lines = []
        for n in range(count):
            line: dict[str, Any] = {"item": item, "unit": units[item], "quantity": per_line} if item else {
                "value_vnd": per_line}
            if n < len(named):
                line.update(child_id=str(named[n].id), description="Hỗ trợ trẻ em")
            else:
                line["description"] = f"Nhóm trẻ {n + 1}"
            lines.append(line)
        self.ledger.distribute(self.ctx(), "bench", season=SEASON, commune=programme.commune,
                               category=programme.category, distributed_on=self.day(), lines=lines,
                               beneficiaries_count=0 if named else count * rng.randrange(1, 20))
        return True


def _not_yet_supported(child: Child, category: str) -> bool:
    try:
        child.check_support(season=SEASON, category=category, duplicate_reason=None)
    except DuplicateSupport:
        return False
    return True


def _remaining(r: Receipt) -> int:
    return int(r.remaining_quantity if r.item else r.remaining_vnd)
