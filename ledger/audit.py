"""Auditing the ledger without trusting its operators: `minhbach audit verify` and `replay`.

verify recomputes every leaf and root from the stored events, checks every signed tree head,
rebuilds every projection into a scratch SQLite file and compares it with the live tables, and
checks the trial balance. Each difference is reported with its position, table or row.
"""

from __future__ import annotations

import base64
import itertools
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Notification

import migrations
from adapters.signing import verify_head
from domain import checkpoint, merkle
from domain.business_dates import Entry, business_days
from domain.ids import as_id
from domain.leaf import ORIGIN_KINDS, Facts, leaf
from domain.merkle import Frontier
from ledger.bootstrap import CompositionRoot
from projections.db import Database
from projections.merkle import fetcher
from projections.queries import Queries
from projections.read_models import all_projections
from projections.runner import Runner

PAGE = 5000
MAX_REPORTED = 200
Progress = Callable[[int], None]


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
    public facts of the first event of each aggregate whose later leaves repeat them."""

    def __init__(self) -> None:
        self.origins: dict[str, Facts] = {}

    def leaf(self, n: Notification) -> bytes:
        oid = str(n.originator_id)
        first = n.originator_version == 1
        data, facts = leaf(n.id, n.originator_id, n.originator_version, n.topic, n.state,
                           None if first else self.origins.get(oid))
        if first and facts is not None and n.topic.rpartition(":")[2] in ORIGIN_KINDS:
            self.origins[oid] = facts
        return data


def stored_events(services: CompositionRoot, progress: Progress | None = None) -> Iterator[Notification]:
    after = 0
    while True:
        page = services.ledger.recorder.select_notifications(start=after + 1, limit=PAGE)
        if not page:
            return
        yield from page
        after = page[-1].id
        if progress:
            progress(len(page))


def verify(services: CompositionRoot, progress: Progress | None = None,
           trusted_head: bytes | None = None, now_ms: int | None = None) -> Report:
    """All the checks of `minhbach audit verify`; `trusted_head` is a head the auditor kept (an
    STH as /audit/tree-head gives it, or a checkpoint note as /audit/checkpoint does)."""
    report = Report()
    _check_log(services, report, progress)
    now = int(datetime.now(UTC).timestamp() * 1000) if now_ms is None else now_ms
    _check_cosignatures(services, report, now)
    if trusted_head is not None:
        _check_trusted(services, report, trusted_head)
    _check_projections(services, report)
    return report


def _check_cosignatures(services: CompositionRoot, report: Report, now_ms: int) -> None:
    """Every stored cosignature by a configured witness verifies over its head's checkpoint; with
    a quorum, events are covered by a published head within the grace period."""
    points = services.checkpoints
    for head in services.tree_heads.all(limit=10**9):
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


def _check_trusted(services: CompositionRoot, report: Report, kept: bytes) -> None:
    """Prove the log consistent with a head the auditor kept (its signature checked first)."""
    points = services.checkpoints
    try:
        if kept.lstrip().startswith(b"{"):
            head = json.loads(kept)
            if not verify_head(services.tree_heads.public_key, head):
                raise ValueError("its signature does not verify")
            size, root = int(head["tree_size"]), bytes.fromhex(head["root_hash"])
        else:
            parsed = checkpoint.verify_note(kept, points.origin, points.log_public_key)
            found = checkpoint.parse_checkpoint(parsed.body)
            if found.origin != points.origin:
                raise ValueError(f"its origin is {found.origin!r}")
            size, root = found.size, found.root
    except (ValueError, KeyError, TypeError) as exc:
        report.add(f"the trusted head is not a head of this log: {exc}")
        return
    latest = services.tree_heads.latest()
    if latest is None or int(latest["tree_size"]) < size or report.events < size:
        report.add(f"the log ({report.events} events) is shorter than the trusted head of size "
                   f"{size}: rolled back")
        return
    second, second_root = int(latest["tree_size"]), bytes.fromhex(latest["root_hash"])
    if second == size:
        ok = second_root == root
    else:
        with services.db.read() as cur:
            try:
                proof = merkle.consistency_proof(size, second, fetcher(cur))
            except LookupError:
                report.add(f"trusted head {size} → {second}: tree nodes missing")
                return
        ok = merkle.verify_consistency(size, second, root, second_root, proof)
    if not ok:
        report.add(f"the trusted head of size {size} is not a prefix of the log's head of size "
                   f"{second} (history rewritten)")


def _check_log(services: CompositionRoot, report: Report, progress: Progress | None) -> None:
    heads = {int(h["tree_size"]): h for h in services.tree_heads.all(limit=10**9)}
    for size, head in heads.items():
        if not verify_head(services.tree_heads.public_key, head):
            report.add(f"tree head of size {size}: the signature does not verify")
    recorded = _recorded_leaves(services.db)
    frontier = Frontier()
    builder = LeafBuilder()
    for stored in stored_events(services, progress):
        # Rebuilt from the stored event: its public part is what the event implies and its
        # sealed digest that of the stored bytes, or the hash differs from the recorded one.
        leaf = merkle.leaf_hash(builder.leaf(stored))
        index = frontier.size
        expected = recorded.get(index)
        if expected is None:
            report.add(f"position {stored.id}: event is not in the Merkle tree (leaf {index})")
        elif expected[0] != stored.id:
            report.add(f"position {stored.id}: leaf {index} was recorded for position "
                       f"{expected[0]} (an event is missing, added or moved)")
        elif expected[1] != leaf.hex():
            report.add(f"position {stored.id}: stored event differs from leaf {index} "
                       "(altered after it was recorded)")
        frontier.append(leaf)
        if frontier.size in heads and heads[frontier.size]["root_hash"] != frontier.root().hex():
            report.add(f"tree head of size {frontier.size}: its root is not the root of the log "
                       f"up to position {stored.id}")
    report.events = frontier.size
    if len(recorded) > frontier.size:
        missing = sorted(recorded)[frontier.size:][:5]
        report.add("the Merkle tree has leaves for events no longer in the log: positions "
                   + ", ".join(str(recorded[i][0]) for i in missing))
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


def _recorded_leaves(db: Database) -> dict[int, tuple[int, str]]:
    # The kept leaf bytes are checked by the replay of the Merkle projection (its table
    # merkle_leaves is compared row by row), not here: they would double this map.
    rows = db.query("SELECT leaf_index, position, leaf_hash FROM merkle_leaves")
    return {int(r["leaf_index"]): (int(r["position"]), r["leaf_hash"]) for r in rows}


def scratch_database(directory: Path) -> Database:
    db = Database(f"sqlite:///{directory / 'scratch.db'}")
    migrations.apply(db.url.yoyo_uri())
    return db


def _check_projections(services: CompositionRoot, report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="minhbach-verify-") as tmp:
        scratch = scratch_database(Path(tmp))
        try:
            try:
                Runner(scratch, services.ledger, all_projections()).catch_up()
            except Exception as e:
                report.add(f"replaying the log into fresh read models failed: {e!r}")
            for projection in all_projections():
                for table in projection.tables:
                    _compare_table(table, services.db, scratch, report)
            _check_trial_balance(scratch, report)
        finally:
            scratch.close()


def _rows(db: Database, table: str) -> list[tuple[Any, ...]]:
    rows = db.query(f"SELECT * FROM {table}")
    return sorted((tuple(sorted(r.items())) for r in rows), key=repr)


def _compare_table(table: str, live: Database, scratch: Database, report: Report) -> None:
    have, want = _rows(live, table), _rows(scratch, table)
    if have == want:
        return
    extra = set(have) - set(want)
    lost = set(want) - set(have)
    for row in sorted(extra, key=repr)[:5]:
        report.add(f"table {table}: live row not in the replay: {dict(row)}")
    for row in sorted(lost, key=repr)[:5]:
        report.add(f"table {table}: replayed row missing or different live: {dict(row)}")


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
