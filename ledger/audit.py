"""Auditing the ledger without trusting its operators: `minhbach audit verify` and `replay`.

verify recomputes every leaf and root from the stored events, checks every signed tree head,
rebuilds every projection into a scratch SQLite file and compares it with the live tables, and
checks the trial balance. Each difference is reported with its position, table or row.
"""

from __future__ import annotations

import base64
import concurrent.futures as futures
import itertools
import json
import logging
import multiprocessing
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Notification

import migrations
from adapters.signing import verify_head
from domain import checkpoint, merkle
from domain.business_dates import Entry, business_days
from domain.ids import as_id
from domain.leaf import ORIGIN_KINDS, PUBLISHING_KINDS, Facts, leaf
from domain.merkle import Frontier
from ledger.bootstrap import CompositionRoot, position_of
from ledger.rebuild import open_in_worker, split
from projections.collector import fewer_collections
from projections.db import Database
from projections.merkle import fetcher
from projections.queries import Queries
from projections.read_models import all_projections, select_projections
from projections.runner import Runner

log = logging.getLogger(__name__)
PAGE = 5000
MAX_REPORTED = 200
CHUNK_LEVEL = 14
"""A worker's share of a large log: 2^14 leaves, a perfect subtree of the tree."""
PARALLEL_FROM = 4 << CHUNK_LEVEL
"""Smaller logs are hashed, and their projections replayed, in this process."""
Progress = Callable[[int], None]
Nodes = list[tuple[int, bytes]]
OriginOf = Callable[[str, int], Facts]
# The kinds whose leaf names the public facts of its aggregate's first event (a reversal, the
# survey of a need): a range of the log hashed on its own may have to look those up before it.
_FOLLOWERS = PUBLISHING_KINDS - ORIGIN_KINDS


@dataclass
class Report:
    events: int = 0
    tree_heads: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(problem)
        elif len(self.problems) == MAX_REPORTED:
            self.problems.append("… more problems not shown")

    @property
    def ok(self) -> bool:
        return not self.problems


def leaf_record(n: Notification) -> dict[str, Any]:
    """The stored event's five fields (docs/verifiable-log.md §1.3), as JSON: for auditors only."""
    return {"position": n.id, "originator_id": str(as_id(n.originator_id)),
            "originator_version": n.originator_version, "topic": n.topic,
            "state": base64.b64encode(n.state).decode("ascii")}


class LeafBuilder:
    """Rebuilds the public leaves of the log from its stored events, in log order, keeping the
    public facts of the first event of each aggregate whose later leaves repeat them.

    A builder that starts inside the log is given `origin_of(originator_id, position)`: the
    facts of that aggregate's first event if it comes before `position`, for the leaves that
    repeat them and whose first event it has not seen."""

    def __init__(self, origin_of: OriginOf | None = None) -> None:
        self.origins: dict[str, Facts] = {}
        self.origin_of = origin_of

    def leaf(self, n: Notification) -> bytes:
        oid = str(n.originator_id)
        first = n.originator_version == 1
        kind = n.topic.rpartition(":")[2]
        origin = None if first else self.origins.get(oid)
        if origin is None and not first and self.origin_of and kind in _FOLLOWERS:
            origin = self.origin_of(oid, n.id)
        data, facts, _ = leaf(n.id, oid, n.originator_version, n.topic, n.state, origin)
        if first and facts is not None and kind in ORIGIN_KINDS:
            self.origins[oid] = facts
        return data


def origin_lookup(services: CompositionRoot) -> OriginOf:
    """`LeafBuilder.origin_of` from the store: the aggregate's first event, by its position."""
    where = position_of(services.db)

    def origin_of(originator_id: str, before: int) -> Facts:
        try:
            position = where(UUID(originator_id))
        except LookupError:
            return None
        # As a builder reading the log from its start would: only an earlier first event counts.
        if position >= before:
            return None
        found = services.ledger.recorder.select_notifications(start=position, limit=1)
        if not found or found[0].originator_version != 1:
            return None
        n = found[0]
        facts = leaf(n.id, n.originator_id, 1, n.topic, n.state)[1]
        return facts if n.topic.rpartition(":")[2] in ORIGIN_KINDS else None

    return origin_of


def stored_events(services: CompositionRoot, progress: Progress | None = None, start: int = 1,
                  stop: int | None = None) -> Iterator[Notification]:
    """The stored events from position `start` to `stop` (included; the end of the log if None)."""
    after = start - 1
    while True:
        page = services.ledger.recorder.select_notifications(start=after + 1, limit=PAGE, stop=stop)
        if not page:
            return
        yield from page
        after = page[-1].id
        if progress:
            progress(len(page))


@dataclass
class Hashed:
    """A range of the log hashed from its stored events."""
    count: int = 0
    nodes: Nodes = field(default_factory=list)  # the range's frontier at its end
    at: dict[int, Nodes] = field(default_factory=dict)  # … at each tree head's size inside it
    problems: list[str] = field(default_factory=list)


def hash_range(services: CompositionRoot, first: int, start: int, stop: int | None,
               sizes: Collection[int], progress: Progress | None = None,
               origin_of: OriginOf | None = None, base: Frontier | None = None,
               leaves: int | None = None) -> Hashed:
    """Rebuild the leaves of the stored events from `start` to `stop` as leaves `first`, …,
    compare them with the recorded ones (the `leaves` from `first`, or all from there on), and
    keep the frontier at the tree sizes in `sizes` and at the end: the range's own, to combine
    (`first` is then a multiple of a power of two ≥ `leaves`), or, given the frontier of the
    `first` leaves before it as `base`, the whole tree's."""
    recorded = _recorded_leaves(services.db, first, None if leaves is None else first + leaves)
    out, problems = Hashed(), Report()
    frontier = Frontier() if base is None else base.copy()
    offset = first - frontier.size
    builder = LeafBuilder(origin_of)
    for stored in stored_events(services, progress, start, stop):
        # Rebuilt from the stored event: its public part is what the event implies and its
        # sealed digest that of the stored bytes, or the hash differs from the recorded one.
        leaf = merkle.leaf_hash(builder.leaf(stored))
        index = offset + frontier.size
        expected = recorded.get(index)
        if expected is None:
            problems.add(f"position {stored.id}: event is not in the Merkle tree (leaf {index})")
        elif expected[0] != stored.id:
            problems.add(f"position {stored.id}: leaf {index} was recorded for position "
                         f"{expected[0]} (an event is missing, added or moved)")
        elif expected[1] != leaf.hex():
            problems.add(f"position {stored.id}: stored event differs from leaf {index} "
                         "(altered after it was recorded)")
        frontier.append(leaf)
        if index + 1 in sizes:
            out.at[index + 1] = list(frontier.stack)
    out.count, out.nodes, out.problems = offset + frontier.size - first, frontier.stack, problems.problems
    return out


def verify(services: CompositionRoot, progress: Progress | None = None,
           trusted_head: bytes | None = None, now_ms: int | None = None, *, full: bool = False,
           workers: int | None = None, parallel_from: int = PARALLEL_FROM,
           chunk_level: int = CHUNK_LEVEL) -> Report:
    """All the checks of `minhbach audit verify`; `trusted_head` is a head the auditor kept (an
    STH as /audit/tree-head gives it, or a checkpoint note as /audit/checkpoint does).

    With a trusted head and not `full`, only what came after it is checked (:func:`_verify_from`).
    A log of `parallel_from` events or more is hashed by `workers` processes (the CPUs), range
    by range (2^`chunk_level` leaves each), while other processes replay the projections."""
    with fewer_collections():
        return _verify(services, progress, trusted_head, now_ms, full, workers, parallel_from,
                       chunk_level)


def _verify(services: CompositionRoot, progress: Progress | None, trusted_head: bytes | None,
            now_ms: int | None, full: bool, workers: int | None, parallel_from: int,
            chunk_level: int) -> Report:
    report = Report()
    now = int(datetime.now(UTC).timestamp() * 1000) if now_ms is None else now_ms
    if trusted_head is not None and not full:
        kept = _trusted(services, report, trusted_head)
        if kept is not None:
            _verify_from(services, report, *kept, progress)
            _check_cosignatures(services, report, now, after=kept[0] - 1)
            _check_trial_balance(services.db, report)
        return report
    workers = workers or os.cpu_count() or 1
    if workers > 1 and (services.ledger.recorder.max_notification_id() or 0) >= parallel_from:
        try:
            return _verify_all(services, report, progress, trusted_head, now, workers, chunk_level)
        except futures.process.BrokenProcessPool:
            # A worker that can't start (no connection left on the server, say) must not stop
            # the audit: it is done again here, slower.
            log.warning("audit verify: a worker process failed; verifying in this process instead")
            report = Report()
    return _verify_all(services, report, progress, trusted_head, now, 0, chunk_level)


def _verify_all(services: CompositionRoot, report: Report, progress: Progress | None,
                trusted_head: bytes | None, now: int, workers: int, chunk_level: int) -> Report:
    # The projections in groups of about equal cost, each replayed into a scratch store of its
    # own by a process of its own, while the others hash.
    groups = split([p.name for p in all_projections()], workers) if workers else []
    with _pool(services, workers + len(groups)) as pool:
        replayed = [pool.submit(_replay_in_worker, group) for group in groups] if pool else []
        _check_log(services, report, progress, pool, chunk_level)
        _check_cosignatures(services, report, now)
        if trusted_head is not None:
            kept = _trusted(services, report, trusted_head)
            if kept is not None:
                _check_consistent(services, report, *kept)
        if not replayed:
            _check_projections(services, report)
        for group in replayed:
            for problem in group.result():
                report.add(problem)
    return report


@contextmanager
def _pool(services: CompositionRoot, workers: int) -> Iterator[futures.ProcessPoolExecutor | None]:
    if not workers:
        yield None
        return
    # Spawned, not forked: the parent's threads, pools and connections stay in the parent.
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                     initargs=(services.settings.model_dump(),)) as pool:
        yield pool


_worker: CompositionRoot | None = None  # a worker process's own services


def _start_worker(settings: dict[str, Any]) -> None:
    global _worker
    _worker = open_in_worker(settings)


def _hash_in_worker(first: int, start: int, stop: int | None, sizes: list[int], leaves: int) -> Hashed:
    assert _worker is not None  # set by _start_worker
    # (A replay's worker gets the same from Runner.rebuild.)
    with fewer_collections():
        return hash_range(_worker, first, start, stop, set(sizes), origin_of=origin_lookup(_worker),
                          leaves=None if stop is None else leaves)


def _replay_in_worker(names: list[str]) -> list[str]:
    assert _worker is not None  # set by _start_worker
    report = Report()
    _check_projections(_worker, report, names)
    return report.problems


def _check_cosignatures(services: CompositionRoot, report: Report, now_ms: int, after: int = -1) -> None:
    """Every stored cosignature by a configured witness verifies over its head's checkpoint (of
    the heads larger than `after`); with a quorum, events are covered by a published head
    within the grace period."""
    points = services.checkpoints
    for head in services.tree_heads.all(after=after, limit=10**9):
        body = points.body(head)
        for row in services.db.query("SELECT witness, line FROM cosignatures WHERE tree_size = ?",
                                     (int(head["tree_size"]),)):
            witness = points.witnesses.get(row["witness"])
            if witness is None:
                continue  # a witness no longer configured: its lines stay, and no longer count
            try:
                checkpoint.verify_cosignature(body, row["line"].encode(), witness.name,
                                              witness.public_key)
            except checkpoint.NoteError as exc:
                report.add(f"tree head of size {head['tree_size']}: the cosignature by "
                           f"{witness.name} is invalid ({exc})")
    if not points.quorum:
        return
    published = points.published()
    covered = int(published["tree_size"]) if published else 0
    grace_ms = int(services.settings.witness_grace_s * 1000)
    # The first head past the published one dates the oldest events no published head covers.
    waiting = services.tree_heads.all(after=covered, limit=1)
    if waiting and now_ms - int(waiting[0]["timestamp"]) > grace_ms:
        report.add(f"events beyond tree size {covered} have waited more than "
                   f"{services.settings.witness_grace_s:g} s for a quorum of {points.quorum} "
                   f"witnesses (signed in the head of size {waiting[0]['tree_size']})")
    if published is None and report.events and not waiting:
        report.add("events exist but no published tree head covers them")


def _trusted(services: CompositionRoot, report: Report, kept: bytes) -> tuple[int, bytes] | None:
    """The size and root of a head the auditor kept, once its signature is checked."""
    points = services.checkpoints
    try:
        if kept.lstrip().startswith(b"{"):
            head = json.loads(kept)
            if not verify_head(services.tree_heads.public_key, head):
                raise ValueError("its signature does not verify")
            return int(head["tree_size"]), bytes.fromhex(head["root_hash"])
        parsed = checkpoint.verify_note(kept, points.origin, points.log_public_key)
        found = checkpoint.parse_checkpoint(parsed.body)
        if found.origin != points.origin:
            raise ValueError(f"its origin is {found.origin!r}")
        return found.size, found.root
    except (ValueError, KeyError, TypeError) as exc:
        report.add(f"the trusted head is not a head of this log: {exc}")
        return None


def _check_consistent(services: CompositionRoot, report: Report, size: int, root: bytes) -> bool:
    """Prove the log's latest head consistent with the kept one (size, root)."""
    latest = services.tree_heads.latest()
    if latest is None or int(latest["tree_size"]) < size or report.events < size:
        report.add(f"the log ({report.events} events) is shorter than the trusted head of size "
                   f"{size}: rolled back")
        return False
    second, second_root = int(latest["tree_size"]), bytes.fromhex(latest["root_hash"])
    if second == size:
        ok = second_root == root
    else:
        with services.db.read() as cur:
            try:
                proof = merkle.consistency_proof(size, second, fetcher(cur))
            except LookupError:
                report.add(f"trusted head {size} → {second}: tree nodes missing")
                return False
        ok = merkle.verify_consistency(size, second, root, second_root, proof)
    if not ok:
        report.add(f"the trusted head of size {size} is not a prefix of the log's head of size "
                   f"{second} (history rewritten)")
    return ok


def _verify_from(services: CompositionRoot, report: Report, size: int, root: bytes,
                 progress: Progress | None) -> None:
    """Check what the log added after a trusted head (size, root), at a cost that grows with the
    new events only: the stored nodes that make up the kept tree must fold into its root; its
    last leaf, rebuilt from its stored event, must be under that root (which pins where the new
    events start: a leaf holds its position); every later event's leaf is rebuilt and appended;
    every later tree head must be signed, have the root so computed, and be consistent with the
    one before it, the first with the trusted head. The projections are not replayed."""
    latest = services.tree_heads.latest()
    latest_size = int(latest["tree_size"]) if latest else 0
    if latest_size < size:
        report.events = latest_size
        _check_consistent(services, report, size, root)  # reports the rollback
        return
    origin_of = origin_lookup(services)
    start, after = _trusted_frontier(services, report, size, root, origin_of)
    if after is None:
        return
    heads = {int(h["tree_size"]): h for h in services.tree_heads.all(after=size - 1, limit=10**9)}
    new = hash_range(services, size, after + 1, None, set(heads), progress, origin_of, base=start)
    _combine(services, report, heads, [new], Frontier())
    if report.ok:
        _check_consistent(services, report, size, root)


def _trusted_frontier(services: CompositionRoot, report: Report, size: int, root: bytes,
                      origin_of: OriginOf) -> tuple[Frontier, int | None]:
    """The kept tree's frontier from the stored nodes, and the position of its last event (None,
    with the problem reported, if the store does not hold that tree)."""
    if size == 0 and root == merkle.EMPTY_ROOT:
        return Frontier(), 0
    if size == 0:
        _not_prefix(report, size)
        return Frontier(), None
    with services.db.read() as cur:
        fetch = fetcher(cur)
        try:
            nodes = fetch(merkle.root_keys(size))
            start = Frontier((level, nodes[(level, index)]) for level, index in merkle.root_keys(size))
            path = merkle.inclusion_path(size - 1, size, fetch)
        except LookupError:
            report.add(f"the trusted head of size {size}: tree nodes missing")
            return Frontier(), None
    if start.root() != root:
        _not_prefix(report, size)
        return start, None
    row = services.db.query_one("SELECT position FROM merkle_leaves WHERE leaf_index = ?", (size - 1,))
    last = services.ledger.recorder.select_notifications(start=int(row["position"]), limit=1) if row else []
    if not last or not merkle.verify_inclusion(
            merkle.leaf_hash(LeafBuilder(origin_of).leaf(last[0])), size - 1, size, path, root):
        report.add(f"the trusted head's last leaf ({size - 1}) is not the stored event at the "
                   "position the tree records for it (history rewritten)")
        return start, None
    return start, last[0].id


def _not_prefix(report: Report, size: int) -> None:
    report.add(f"the trusted head of size {size} is not a prefix of the log: the stored tree of "
               "that size has another root (history rewritten)")


def _combine(services: CompositionRoot, report: Report, heads: dict[int, dict[str, Any]],
             ranges: list[Hashed], frontier: Frontier) -> None:
    """Put hashed ranges of the log together after `frontier` and check the tree heads whose
    sizes are in them, their signatures, and that each is consistent with the one before."""
    for size, head in heads.items():
        if not verify_head(services.tree_heads.public_key, head):
            report.add(f"tree head of size {size}: the signature does not verify")
    for hashed in ranges:
        for problem in hashed.problems:
            report.add(problem)
        for size, nodes in hashed.at.items():
            at = frontier.copy()
            at.extend(nodes)
            if heads[size]["root_hash"] != at.root().hex():
                report.add(f"tree head of size {size}: its root is not the root of the log up to "
                           f"the event at leaf {size - 1}")
        frontier.extend(hashed.nodes)
    report.events = frontier.size
    extra = services.db.query("SELECT position FROM merkle_leaves WHERE leaf_index >= ?"
                              " ORDER BY leaf_index LIMIT 5", (frontier.size,))
    if extra:
        report.add("the Merkle tree has leaves for events no longer in the log: positions "
                   + ", ".join(str(r["position"]) for r in extra))
    for size in heads:
        if size > frontier.size:
            report.add(f"tree head of size {size} is larger than the log ({frontier.size} events)")
    sizes = sorted(heads)
    report.tree_heads = len(sizes)
    with services.db.read() as cur:
        fetch = fetcher(cur)
        for first, second in itertools.pairwise(sizes):
            try:
                proof = merkle.consistency_proof(first, second, fetch)
            except LookupError:
                report.add(f"tree heads {first} → {second}: tree nodes missing")
                continue
            if not merkle.verify_consistency(first, second, bytes.fromhex(heads[first]["root_hash"]),
                                             bytes.fromhex(heads[second]["root_hash"]), proof):
                report.add(f"tree heads {first} → {second}: not consistent (history rewritten)")


def _check_log(services: CompositionRoot, report: Report, progress: Progress | None,
               pool: futures.Executor | None, chunk_level: int) -> None:
    heads = {int(h["tree_size"]): h for h in services.tree_heads.all(limit=10**9)}
    ranges = _hash_ranges(services, heads, progress, pool, 1 << chunk_level) if pool else None
    if ranges is None:
        ranges = [hash_range(services, 0, 1, None, set(heads), progress)]
    _combine(services, report, heads, ranges, Frontier())


def _hash_ranges(services: CompositionRoot, heads: dict[int, dict[str, Any]], progress: Progress | None,
                 pool: futures.Executor, chunk: int) -> list[Hashed] | None:
    """The log hashed by the pool's workers, `chunk` leaves each, where the recorded leaves say
    each range starts. None if a range did not hold `chunk` events (so the recorded leaves are
    wrong somewhere, or the log changed meanwhile): the log is then hashed in one range, which
    says where."""
    count = services.db.query_one("SELECT COUNT(*) AS n FROM merkle_leaves")
    firsts = list(range(chunk, int(count["n"]) if count else 0, chunk))
    marks = ", ".join("?" * len(firsts))
    rows = services.db.query(f"SELECT leaf_index, position FROM merkle_leaves WHERE leaf_index IN ({marks})"
                             " ORDER BY leaf_index", firsts) if firsts else []
    starts = [(0, 1)] + [(int(r["leaf_index"]), int(r["position"])) for r in rows]
    if any(index != i * chunk for i, (index, _) in enumerate(starts)):
        return None
    sizes = sorted(heads)
    jobs = []
    for i, (first, start) in enumerate(starts):
        stop = starts[i + 1][1] - 1 if i + 1 < len(starts) else None
        inside = [s for s in sizes if first < s <= first + chunk or (stop is None and s > first)]
        jobs.append(pool.submit(_hash_in_worker, first, start, stop, inside, chunk))
    done = []
    for i, job in enumerate(jobs):
        hashed = job.result()
        if progress:
            progress(hashed.count)
        if hashed.count != chunk and i + 1 < len(jobs):
            for rest in jobs[i + 1:]:
                rest.cancel()
            return None
        done.append(hashed)
    return done


def _recorded_leaves(db: Database, first: int = 0, end: int | None = None) -> dict[int, tuple[int, str]]:
    # The kept leaf bytes are checked by the replay of the Merkle projection (its table
    # merkle_leaves is compared row by row), not here: they would double this map.
    sql, params = "SELECT leaf_index, position, leaf_hash FROM merkle_leaves WHERE leaf_index >= ?", [first]
    if end is not None:
        sql += " AND leaf_index < ?"
        params.append(end)
    return {int(r["leaf_index"]): (int(r["position"]), r["leaf_hash"]) for r in db.query(sql, params)}


def scratch_database(directory: Path) -> Database:
    db = Database(f"sqlite:///{directory / 'scratch.db'}")
    migrations.apply(db.url.yoyo_uri())
    return db


def _check_projections(services: CompositionRoot, report: Report, names: list[str] | None = None) -> None:
    """Replay these projections (all if None) into a scratch store and compare their tables
    with the live ones; and the trial balance, if the balances are among them."""
    projections = all_projections() if names is None else select_projections(all_projections(), names)
    with tempfile.TemporaryDirectory(prefix="minhbach-verify-") as tmp:
        scratch = scratch_database(Path(tmp))
        try:
            try:
                # A rebuild: batches of REBUILD_BATCH_SIZE, only the topics these projections read.
                Runner(scratch, services.ledger, projections, log_db=services.db).rebuild()
            except Exception as e:
                report.add(f"replaying the log into fresh read models failed: {e!r}")
            for projection in projections:
                for table in projection.tables:
                    _compare_table(table, services.db, scratch, report)
            if any(p.name == "balances" for p in projections):
                _check_trial_balance(scratch, report)
        finally:
            scratch.close()


def _rows(db: Database, table: str, columns: list[str]) -> Counter[tuple[Any, ...]]:
    # A multiset: counting rows is much cheaper than sorting them, and as exact. The columns are
    # named, so each row's values come in the same order from both stores.
    return Counter(tuple(r.values()) for r in db.query(f"SELECT {', '.join(columns)} FROM {table}"))


def _compare_table(table: str, live: Database, scratch: Database, report: Report) -> None:
    # The scratch store is SQLite, migrated as the live one is: its columns are the table's.
    columns = sorted(str(c["name"]) for c in scratch.query(f"PRAGMA table_info({table})"))
    have, want = _rows(live, table, columns), _rows(scratch, table, columns)
    if have == want:
        return
    extra = have - want
    lost = want - have
    for row in sorted(extra, key=repr)[:5]:
        report.add(f"table {table}: live row not in the replay: {dict(zip(columns, row, strict=True))}")
    for row in sorted(lost, key=repr)[:5]:
        report.add(f"table {table}: replayed row missing or different live:"
                   f" {dict(zip(columns, row, strict=True))}")


def _check_trial_balance(db: Database, report: Report) -> None:
    t = Queries(db).trial_balance()
    parts = t["in_funds_vnd"] + t["in_programmes_vnd"] + t["distributed_vnd"]
    if t["received_vnd"] != parts:
        report.add(f"trial balance: received {t['received_vnd']} ≠ funds + programmes + "
                   f"distributed {parts}")


def _domain_event(services: CompositionRoot, stored: Notification) -> DomainEvent:
    event = services.ledger.mapper.to_domain_event(stored)
    assert isinstance(event, DomainEvent)  # every stored event of ours is one
    return event


def _entry(stored: Notification, event: DomainEvent) -> Entry:
    fields = {k: v for k, v in vars(event).items() if k not in ("originator_id", "timestamp")}
    return Entry(position=stored.id, kind=stored.topic.split(":", 1)[-1],
                 subject=event.originator_id,
                 recorded_on=event.timestamp.astimezone(UTC).date().isoformat(), fields=fields)


def replay_balances(services: CompositionRoot, as_of: str,
                    by: str = "recorded") -> dict[str, list[dict[str, Any]]]:
    """Fund and programme balances as they stood at the end of `as_of`, from the log alone:
    by what had been recorded by then (UTC), or by what had happened by then (`by="business"`,
    domain/business_dates.py: a receipt recorded in March for a January gift counts in January)."""
    cutoff = datetime.combine(datetime.fromisoformat(as_of).date(), time.min, UTC) + timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="minhbach-replay-") as tmp:
        scratch = scratch_database(Path(tmp))
        try:
            runner = Runner(scratch, services.ledger, all_projections())
            decoded = [(stored, _domain_event(services, stored)) for stored in stored_events(services)]
            if by == "business":
                entries = [_entry(stored, event) for stored, event in decoded]
                days = business_days(entries)
                chosen = [pair for pair in decoded if days[pair[0].id] <= as_of]
            else:
                chosen = list(itertools.takewhile(lambda pair: pair[1].timestamp < cutoff, decoded))
            runner.replay(chosen)
            queries = Queries(scratch)
            return {"funds": queries.fund_balances(), "programmes": queries.programme_balances()}
        finally:
            scratch.close()
