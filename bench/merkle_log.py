"""Figure (c): verifying the log, i.e. hashing every stored event and computing the root.

`minhbach audit verify` recomputes each event's leaf (domain/leaf.py: its public facts and the
sealed digest of its state), hashes it, appends it to the `Frontier` and
compares roots with the signed tree heads. This figure times exactly that loop, over 1,000,000
stored events (quick: 100,000) held in memory, so neither the database nor the network is in it:
what is left is the per-event cost of the leaf encoding, the hashes and the frontier.

The events are synthetic but shaped like the store's: `Notification`s with random UUIDs, the
topics and the mix of figure (b) (Receipt.Recorded, Receipt.Drawn, Claim.Claimed, ...), and
states of 330-800 bytes (mean about 505; the log that figure (b) makes through the Ledger averages
555) of JSON in the eventsourcing transcoder's format
(`{"timestamp":{"_type_":"datetime_iso",...},...,"meta":{...}}`), Vietnamese text included.

Baseline: the floor of the work itself. One thread running `hashlib.sha256` over exactly the
bytes the verifier must hash: each event's sealed-digest input (its id, version and base64
state), each leaf (0x00 ‖ leaf bytes) and each interior node (0x01 ‖ left ‖ right, 65 bytes),
made beforehand batch by batch (untimed) and hashed in the same run. It runs once before and once
after the timed verifications, and the faster pass counts (the stricter comparison).
Targets: ≥ 0.8 of the floor in one thread, ≥ 1.3 of it with the machine's two cores.

Two cores: the log is cut into chunks of 2^14 leaves (perfect subtrees), worker processes
(forked: the events are already in memory) each make a chunk's leaves and its frontier, and the
main process combines the chunks' subtrees in order (`Frontier.extend`), as `audit verify` does
on a large log (ledger/audit.py; there the workers read their ranges from the database).

Sanity: the whole tree is built a second time, untimed, with `merkle.nodes_after_append` in a
`merkle.MemoryTree`; its root must equal the frontier's, and so must the roots of a few prefixes.
That tree (all leaves and perfect nodes) is what figure (d) loads into PostgreSQL.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from bench.figures import Figure
from domain import merkle
from domain.leaf import PUBLISHING_KINDS, sealed_input
from domain.leaf import leaf as public_leaf
from domain.merkle import Frontier
from ledger.audit import CHUNK_LEVEL
from projections.collector import fewer_collections

TARGET_RATIO = 0.8
TARGET_RATIO_PARALLEL = 1.3
BREAKDOWN_SAMPLE = 100_000
FLOOR_BATCH = 10_000

Say = Callable[[str], None]

# (topic, weight): the mix of figure (b)'s 200,000 events, rounded; the rare topics left out.
MIX = (
    ("domain.receipts:Receipt.Recorded", 48), ("domain.receipts:Receipt.Drawn", 38),
    ("domain.claims:Claim.Claimed", 29), ("domain.children:Child.SupportReceived", 19),
    ("domain.allocations:Allocation.Made", 16), ("domain.programmes:Programme.FundsAllocated", 16),
    ("domain.distributions:Distribution.Made", 13),
    ("domain.programmes:Programme.SupportDistributed", 13), ("domain.children:Child.Registered", 4),
    ("domain.donors:Pledge.Made", 2), ("domain.donors:Donor.Registered", 1),
    ("domain.receipts:Receipt.Reversed", 1),
)
FUNDS = ("campaign", "general", "winter", "education")
CATEGORIES = ("warm_clothes", "school_supplies", "nutrition", "scholarship")
NOTES = ("Ủng hộ chương trình chăm lo trẻ em khó khăn, đợt 3", "Quà Tết cho các cháu vùng cao",
         "Chuyển khoản qua ngân hàng, nội dung: ủng hộ trẻ em Lạng Sơn", None, None, None)
NAMES = ("Nguyễn Văn An", "Trần Thị Bích", "Công ty TNHH Hòa Bình", "Hội Phụ nữ xã Tân Thành",
         "Lê Hoàng Nam", "Phạm Thu Hà")


class EventMaker:
    """Synthetic stored events, deterministic for a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = datetime(2021, 1, 4, 1, 30, tzinfo=UTC)
        self.versions: dict[str, list[list[Any]]] = {}  # aggregate type → [[id, version], ...]
        self.topics, weights = zip(*MIX, strict=True)
        self.cum = list(_accumulate(weights))

    def uuid(self) -> UUID:
        return UUID(int=self.rng.getrandbits(128), version=4)

    def _meta(self, note: str | None = None) -> dict[str, Any]:
        rng = self.rng
        return {"actor": f"finance-{rng.randrange(1, 40):02d}", "role": "finance",
                "request_id": str(self.uuid()),
                "idempotency_key": str(self.uuid()) if rng.random() < 0.7 else None, "note": note}

    def _id(self, u: UUID) -> dict[str, str]:
        return {"_type_": "uuid_hex", "_data_": u.hex}

    def _aggregate(self, kind: str, new: bool) -> tuple[UUID, int]:
        pool = self.versions.setdefault(kind, [])
        if new or not pool:
            entry: list[Any] = [self.uuid(), 1]
            pool.append(entry)
        else:
            entry = pool[self.rng.randrange(max(0, len(pool) - 5000), len(pool))]
            entry[1] += 1
        return entry[0], entry[1]

    def _pieces(self) -> list[dict[str, Any]]:
        rng = self.rng
        return [{"receipt_id": self._id(self.uuid()), "amount_vnd": rng.randrange(1, 200) * 50_000,
                 "quantity": 0} for _ in range(rng.randrange(1, 4))]

    def make(self, position: int) -> Notification:
        rng = self.rng
        topic = self.topics[_pick(self.cum, rng.random() * self.cum[-1])]
        self.clock += timedelta(microseconds=rng.randrange(200, 400_000))
        state: dict[str, Any] = {"timestamp": {"_type_": "datetime_iso", "_data_": self.clock.isoformat()}}
        kind, event = topic.split(":")[1].split(".")
        new = event in ("Recorded", "Claimed", "Made", "Registered", "Opened")
        if new:
            state["originator_topic"] = topic.rsplit(".", 1)[0]
        if topic.endswith("Receipt.Recorded"):
            note = rng.choice(NOTES)
            bank = rng.random() < 0.6
            state.update(donor_id=self._id(self.uuid()), fund=rng.choice(FUNDS),
                         received_on=f"2021-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                         channel="bank" if bank else "cash", amount_vnd=rng.randrange(1, 500) * 100_000,
                         goods=None,
                         restriction={"district": f"{rng.randrange(178, 190):03d}"} if rng.random() < 0.2
                         else {},
                         pledge_id=None, bank_txn_id=f"FT{rng.getrandbits(64):016X}" if bank else None,
                         mobilised_by=None, note=note, meta=self._meta(note))
        elif event in ("Drawn", "FundsAllocated", "Returned"):
            state.update(allocation_id=self._id(self.uuid()))
            if event == "Drawn":
                state.update(amount_vnd=rng.randrange(1, 200) * 50_000, quantity=0)
            else:
                state.update(pieces=self._pieces())
            state["meta"] = self._meta()
        elif kind == "Claim":
            state.update(kind="bank-txn", value=f"FT{rng.getrandbits(64):016X}",
                         owner_id=self._id(self.uuid()), meta=self._meta())
        elif event in ("SupportReceived", "SupportDistributed"):
            state.update(distribution_id=self._id(self.uuid()), season="2021",
                         category=rng.choice(CATEGORIES))
            if event == "SupportReceived":
                state.update(amount_vnd=rng.randrange(1, 20) * 100_000, item=None, quantity=0)
            else:
                state.update(pieces=self._pieces())
            state["meta"] = self._meta()
        elif kind == "Allocation":
            state.update(programme_id=self._id(self.uuid()), fund=rng.choice(FUNDS),
                         pieces=self._pieces(), meta=self._meta("Phân bổ theo khảo sát nhu cầu"))
        elif kind == "Distribution":
            state.update(programme_id=self._id(self.uuid()), recipients=[
                self._id(self.uuid()) for _ in range(rng.randrange(1, 4))],
                amount_each_vnd=rng.randrange(1, 20) * 100_000, item=None, quantity_each=0,
                meta=self._meta())
        elif kind == "Child":
            state.update(key=hashlib.sha256(rng.randbytes(16)).hexdigest(), district="178",
                         commune=f"{rng.randrange(6000, 6300):05d}", birth_year=rng.randrange(2006, 2020),
                         ethnicity=rng.choice(("Tày", "Nùng", "Kinh", "Dao")), meta=self._meta())
        else:  # Donor.Registered, Pledge.Made, Receipt.Reversed
            state.update(name=rng.choice(NAMES), kind="individual", public_name=None, anonymous=False,
                         contact=None, amount_vnd=rng.randrange(1, 100) * 1_000_000, meta=self._meta())
        originator_id, version = self._aggregate(kind, new)
        return Notification(originator_id=originator_id, originator_version=version, topic=topic,
                            state=json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode(),
                            id=position)


def synthetic_events(n: int, seed: int = 9162) -> list[Notification]:
    maker = EventMaker(seed)
    return [maker.make(position) for position in range(1, n + 1)]


# ---- the measurement --------------------------------------------------------------------------

def leaf_bytes(e: Notification) -> bytes:
    """The event's public leaf, as audit verify makes it (a reversal's origin aside)."""
    return public_leaf(e.id, e.originator_id, e.originator_version, e.topic, e.state)[0]


def verify_pass(events: list[Notification]) -> tuple[bytes, float]:
    """The hashing loop of `minhbach audit verify` (ledger.audit._check_log); (root, seconds)."""
    t0 = time.perf_counter()
    frontier = Frontier()
    for stored in events:
        leaf = merkle.leaf_hash(leaf_bytes(stored))
        frontier.append(leaf)
    root = frontier.root()
    return root, time.perf_counter() - t0


_forked: list[Notification] = []  # the events, as the forked workers inherit them


def _chunk_stack(index: int) -> list[tuple[int, bytes]]:
    frontier = Frontier()
    for stored in _forked[index << CHUNK_LEVEL:(index + 1) << CHUNK_LEVEL]:
        frontier.append(merkle.leaf_hash(leaf_bytes(stored)))
    return frontier.stack


def parallel_pass(events: list[Notification], workers: int) -> tuple[bytes, float]:
    """The same work in `workers` forked processes, chunk by chunk; (root, seconds)."""
    global _forked
    _forked = events
    try:
        t0 = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            frontier = Frontier()
            chunks = range((len(events) + (1 << CHUNK_LEVEL) - 1) >> CHUNK_LEVEL)
            for stack in pool.imap(_chunk_stack, chunks):
                frontier.extend(stack)
        root = frontier.root()
        return root, time.perf_counter() - t0
    finally:
        _forked = []


def _floor_inputs(events: list[Notification]) -> Iterator[list[bytes]]:
    """Batch by batch, every input the verifier hashes: sealed-digest inputs, leaves, nodes."""
    for start in range(0, len(events), FLOOR_BATCH):
        batch = events[start:start + FLOOR_BATCH]
        leaves = [merkle.leaf_hash(leaf_bytes(e)) for e in batch]
        # The interior nodes' inputs, one per leaf (the tree has one fewer in all).
        nodes = [b"\x01" + leaves[i - 1] + leaves[i] for i in range(len(leaves))]
        yield ([sealed_input(str(e.originator_id), e.originator_version, e.state) for e in batch]
               + [b"\x00" + leaf_bytes(e) for e in batch] + nodes)


def floor_pass(events: list[Notification]) -> float:
    """hashlib.sha256 over every input the verifier must hash, in one thread; seconds (only the
    hashing is timed, not making the inputs)."""
    seconds = 0.0
    for inputs in _floor_inputs(events):
        t0 = time.perf_counter()
        for data in inputs:
            hashlib.sha256(data).digest()
        seconds += time.perf_counter() - t0
    return seconds


def measure(events: list[Notification], say: Say) -> tuple[list[Figure], merkle.MemoryTree]:
    # The collector set as `audit verify` sets it, for the floor as for the verifier.
    with fewer_collections():
        return _measure(events, say)


def _measure(events: list[Notification], say: Say) -> tuple[list[Figure], merkle.MemoryTree]:
    n = len(events)
    states = sum(len(e.state) for e in events)
    workers = min(2, os.cpu_count() or 1)
    say(f"(c) {n:,} synthetic stored events, states {states / n:,.0f} bytes on average"
        f" ({states / 1e6:,.0f} MB in all)")
    base1 = floor_pass(events)
    say(f"(c) floor (hashlib.sha256 over the sealed inputs, leaves and nodes, one thread):"
        f" {n / base1:,.0f} events/s ({base1:.2f}s)")
    root, seconds = verify_pass(events)
    say(f"(c) verify, one thread (leaf bytes + leaf_hash + Frontier.append, then root):"
        f" {n / seconds:,.0f} events/s ({seconds:.2f}s); root {root.hex()[:16]}…")
    parallel_root, parallel = parallel_pass(events, workers)
    if parallel_root != root:
        raise RuntimeError("the chunked root differs from the one-thread root")
    say(f"(c) verify, {workers} processes (chunks of {1 << CHUNK_LEVEL:,} leaves, subtrees combined):"
        f" {n / parallel:,.0f} events/s ({parallel:.2f}s), same root")
    base2 = floor_pass(events)
    say(f"(c) floor again: {n / base2:,.0f} events/s ({base2:.2f}s)")
    for line in breakdown(events[:BREAKDOWN_SAMPLE]):
        say(f"(c)   {line}")
    t0 = time.perf_counter()
    tree = merkle.MemoryTree(
        merkle.leaf_hash(leaf_bytes(e))
        for e in events)
    if tree.root() != root:
        raise RuntimeError("the frontier's root differs from the MemoryTree's")
    prefixes = {size for size in (1, 2, 3, 7, 1000, 1023, 1025, n // 3 + 1) if size <= n}
    frontier = Frontier()
    for leaf in tree.leaves[:max(prefixes)]:
        frontier.append(leaf)
        if frontier.size in prefixes and frontier.root() != tree.root(frontier.size):
            raise RuntimeError(f"the frontier's root differs from the MemoryTree's at size {frontier.size}")
    say(f"(c) sanity: a second computation (merkle.MemoryTree, {len(tree.nodes):,} perfect nodes,"
        f" {time.perf_counter() - t0:.1f}s) gives the same root, and the same roots for"
        f" {len(prefixes)} prefixes")
    baseline = n / min(base1, base2)
    unit = "events/s (hashlib.sha256, one thread, over the bytes the verifier hashes)"
    figures = [Figure(name="verify_hash_events_per_s", value=n / seconds, unit="events/s",
                      baseline=baseline, baseline_unit=unit, target=TARGET_RATIO * baseline),
               Figure(name="verify_hash_events_per_s_2cores", value=n / parallel, unit="events/s",
                      baseline=baseline, baseline_unit=unit, target=TARGET_RATIO_PARALLEL * baseline)]
    return figures, tree


def breakdown(sample: list[Notification]) -> list[str]:
    """Where a leaf's time goes, each step timed on its own over the sample (no profiler overhead).
    Each timed loop drops its outputs, as the verify loop does (keeping 100,000 leaves of 800 bytes
    would add fresh memory's page faults to the step). The garbage collector is off meanwhile, so
    that collections over the million live events don't land on whichever step allocates."""
    if not sample:
        return []
    gc.disable()
    try:
        return _breakdown(sample)
    finally:
        gc.enable()


def _breakdown(sample: list[Notification]) -> list[str]:
    n = len(sample)
    t = time.perf_counter
    t0 = t()
    for e in sample:
        sealed_input(str(e.originator_id), e.originator_version, e.state)
    sealing = t() - t0
    inputs = [sealed_input(str(e.originator_id), e.originator_version, e.state) for e in sample]
    t0 = t()
    for data in inputs:
        hashlib.sha256(data).hexdigest()
    sealed = t() - t0
    t0 = t()
    for e in sample:
        leaf_bytes(e)
    whole = t() - t0
    datas = [leaf_bytes(e) for e in sample]
    t0 = t()
    leaves = [merkle.leaf_hash(d) for d in datas]
    hashing = t() - t0
    t0 = t()
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    frontier.root()
    tree = t() - t0
    total = whole + hashing + tree
    publishing = sum(1 for e in sample if e.topic.rpartition(":")[2] in PUBLISHING_KINDS)

    def share(s: float) -> str:
        return f"{1e6 * s / n:.2f} µs/event ({100 * s / total:.0f}%)"

    return [
        f"where a leaf's time goes ({n:,} events, each step on its own; {1e6 * total / n:.2f} µs in all):",
        f"leaf bytes {share(whole)}, of which the sealed digest's input (id text, base64 of the"
        f" state, {sum(map(len, inputs)) / n:,.0f} bytes) {share(sealing)} and its SHA-256"
        f" {share(sealed)}; the rest is decoding the state and the public facts of the"
        f" {100 * publishing / n:.0f}% of events that publish some, and assembling the leaf",
        f"leaf_hash: SHA-256(0x00 ‖ leaf bytes, {sum(map(len, datas)) / n:,.0f} bytes) {share(hashing)}",
        f"Frontier.append (node_hash about once per leaf) {share(tree)}",
    ]


def _accumulate(weights: tuple[int, ...]) -> list[int]:
    out, total = [], 0
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(cum: list[int], x: float) -> int:
    for i, c in enumerate(cum):
        if x < c:
            return i
    return len(cum) - 1


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.merkle_log [--quick] [--json]`: figure (c) alone."""
    from bench.run import run_one

    run_one("verify", argv, lambda db, work, sizes, say: measure(synthetic_events(sizes.tree_events), say)[0])


if __name__ == "__main__":
    main()
