"""The demo of the 2021 Lạng Sơn plan: realistic sizes, loaded once, deterministic."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.areas import AreaTree
from domain.claims import Claim, claim_id
from domain.goods import goods_key
from domain.money import restriction_allows, specificity
from ledger.application import Ledger
from ledger.demo import DEMO, load_demo

AREAS = Path(__file__).resolve().parents[2] / "domain" / "data" / "areas.json"
RECEIPT_TOPICS = tuple(f"domain.receipts:Receipt.{name}"
                       for name in ("Recorded", "Drawn", "Returned", "Reversed"))


class OpenReceipts:
    """A minimal stand-in for the open-receipts read model: follows receipt events in the log."""

    def __init__(self) -> None:
        self.ledger: Ledger | None = None
        self.next = 1
        self.left: dict[UUID, dict[str, Any]] = {}

    def __call__(self, fund: str, item: str | None, district: str, commune: str,
                 category: str) -> list[UUID]:
        assert self.ledger is not None
        while notifications := self.ledger.recorder.select_notifications(
                self.next, 1000, topics=RECEIPT_TOPICS):
            for n in notifications:
                event: Any = self.ledger.mapper.to_domain_event(n)
                kind = n.topic.rsplit(".", 1)[1]
                if kind == "Recorded":
                    goods = event.goods
                    self.left[event.originator_id] = {
                        "fund": event.fund,
                        "item": goods_key(goods["item"], goods["unit"]).text() if goods else None,
                        "restriction": event.restriction,
                        "received_on": event.received_on,
                        "left": goods["quantity"] if goods else event.amount_vnd,
                    }
                    continue
                r = self.left[event.originator_id]
                if kind == "Reversed":
                    r["left"] = 0
                else:
                    moved = event.quantity if r["item"] else event.amount_vnd
                    r["left"] += moved if kind == "Returned" else -moved
            self.next = notifications[-1].id + 1
        # Like the real read model: most specific first, then oldest first.
        open_ = [(-specificity(r["restriction"]), r["received_on"], i, rid)
                 for i, (rid, r) in enumerate(self.left.items())
                 if r["fund"] == fund and r["item"] == item and r["left"] > 0
                 and restriction_allows(r["restriction"], district, commune, category)]
        return [rid for *_, rid in sorted(open_)]


def new_ledger() -> Ledger:
    open_receipts = OpenReceipts()
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"},
                    areas=AreaTree.from_json(AREAS.read_text(encoding="utf-8")),
                    open_receipts=open_receipts, service_key=b"k" * 32,
                    position_of=lambda _: 0)
    open_receipts.ledger = ledger
    return ledger


def events(ledger: Ledger) -> list[Any]:
    return list(ledger.recorder.select_notifications(1, 10**7))


def test_areas_file_is_the_2021_tree_of_lang_son() -> None:
    data = json.loads(AREAS.read_text(encoding="utf-8"))
    assert data["source"]
    tree = AreaTree.from_json(AREAS.read_text(encoding="utf-8"))
    districts = [a for a in tree.all() if a.kind == "district"]
    assert sorted(a.code for a in districts) == [str(c) for c in (178, *range(180, 190))]
    for district in districts:
        communes = tree.communes(district.code)
        assert 4 <= len(communes) <= 6
        assert all(len(c.code) == 5 and c.code.isdigit() for c in communes)
    assert not any(c.extremely_difficult for c in tree.communes("178"))
    flagged = [c for c in tree.communes() if c.extremely_difficult]
    assert len(flagged) > len(tree.communes()) * 2 // 3


def test_demo_is_realistic_loaded_once_and_deterministic() -> None:
    ledger = new_ledger()
    calls: list[tuple[int, int]] = []
    counts = load_demo(ledger, progress=lambda done, total: calls.append((done, total)))

    assert 180 <= counts["donors"] <= 220
    assert 130 <= counts["pledges"] <= 170
    assert 2800 <= counts["receipts"] <= 3300
    assert counts["needs"] >= 4 * 49
    assert 380 <= counts["children"] <= 420
    assert counts["allocations"] >= 300
    assert counts["distributions"] >= 300
    assert counts["reversals"] >= 3
    assert 1 <= counts["duplicate_overrides"] <= 10

    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]
    assert ledger.find_or_none(claim_id("demo", "lang-son-2021"), Claim) is not None

    log = events(ledger)
    topics = [n.topic for n in log]
    kinds = Counter(t.rsplit(":", 1)[1] for t in topics)
    for kind in ("Receipt.Reversed", "Allocation.Reversed", "Distribution.Reversed"):
        assert kinds[kind] >= 1, kind

    donors: Counter[str] = Counter()
    anonymous = restricted = in_kind = 0
    bank_ids: list[str] = []
    for n in log:
        event: Any = ledger.mapper.to_domain_event(n)
        meta = getattr(event, "meta", None)
        if meta is not None:
            assert meta["actor"] == "demo"
            assert (meta["note"] or "").startswith(DEMO), (n.topic, meta)
        if n.topic.endswith("Donor.Registered"):
            donors[event.kind] += 1
            anonymous += event.anonymous
        elif n.topic.endswith("Receipt.Recorded"):
            restricted += bool(event.restriction)
            in_kind += event.channel == "in_kind"
            if event.bank_txn_id:
                bank_ids.append(event.bank_txn_id)
            assert event.received_on.startswith("2021-")
    assert set(donors) == {"individual", "business", "organisation", "fund", "agency"}
    assert 0.05 <= anonymous / sum(donors.values()) <= 0.15
    assert 0.10 <= restricted / counts["receipts"] <= 0.20
    assert in_kind >= 30
    assert len(bank_ids) == len(set(bank_ids)) > 1000

    # A second load changes nothing.
    before = ledger.recorder.max_notification_id()
    assert load_demo(ledger) == {"skipped": 1}
    assert ledger.recorder.max_notification_id() == before

    # The same seed into a fresh ledger gives the same history.
    again = new_ledger()
    assert load_demo(again) == counts
    assert [n.topic for n in events(again)] == topics
