"""The composition root: builds the store, the ledger, the read models and their runner."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from uuid import UUID

import migrations
from adapters import event_store
from adapters.keys import ChildKeyTable, DonorKeyTable, load_service_key
from adapters.signing import TreeHeads, load_signing_key
from domain.areas import AreaTree
from ledger.application import Ledger
from ledger.bank_book import BankBook
from ledger.settings import Settings
from ledger.total_bound import TotalBounds
from ledger.witnesses import Checkpoints
from projections.bank_queries import BankQueries
from projections.db import Database
from projections.health import TaskHealth
from projections.queries import Queries
from projections.read_models import all_projections
from projections.runner import Runner, is_transient

log = logging.getLogger(__name__)
TREE_HEADS_TASK = "tree-heads"  # its name in TaskHealth and in metrics


def load_areas() -> AreaTree:
    return AreaTree.from_json(resources.files("domain").joinpath("data/areas.json").read_text("utf-8"))


@dataclass
class CompositionRoot:
    settings: Settings
    db: Database
    ledger: Ledger
    queries: Queries
    runner: Runner
    areas: AreaTree
    tree_heads: TreeHeads
    bank: BankBook
    bank_queries: BankQueries
    checkpoints: Checkpoints
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start_projections(self) -> None:
        """Follow the log, and sign new tree heads, in background threads of this process."""
        if not self._threads:
            self._stop.clear()
            for name, target in (("projections", self.runner.follow),
                                 (TREE_HEADS_TASK, self._publish_tree_heads)):
                thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
                thread.start()
                self._threads.append(thread)

    @property
    def health(self) -> TaskHealth:
        """Errors of this process's background loops (shared with the runner's)."""
        return self.runner.health

    def _publish_tree_heads(self, stop: threading.Event) -> None:
        while not stop.wait(self.settings.tree_head_interval_s):
            try:
                self.tree_heads.publish()
            except Exception as exc:
                # Kept going: the next interval tries again; the error is logged and counted, its
                # traceback once per run of failures (not every interval).
                again = TREE_HEADS_TASK in self.health.failing()
                self.health.failed(TREE_HEADS_TASK, exc)
                if is_transient(exc):
                    log.warning("publishing a tree head: the database is unavailable (%s: %s)",
                                type(exc).__name__, exc)
                else:
                    log.error("publishing a tree head failed: %s: %s", type(exc).__name__, exc,
                              exc_info=None if again else exc)
            else:
                self.health.succeeded(TREE_HEADS_TASK)

    def stop_background(self) -> None:
        self._stop.set()
        self.runner.wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def close(self) -> None:
        self.stop_background()
        self.ledger.close()
        self.db.close()


def position_of(db: Database) -> Callable[[UUID], int]:
    """Where an aggregate's first event sits in the log (for replayed idempotent responses)."""
    if db.dialect == "sqlite":
        sql = f"SELECT rowid AS position FROM {db.events_table}"
    else:
        sql = f"SELECT notification_id AS position FROM {db.events_table}"
    sql += " WHERE originator_id = ? AND originator_version = 1"

    def lookup(aggregate_id: UUID) -> int:
        key = aggregate_id.hex if db.dialect == "sqlite" else str(aggregate_id)
        row = db.query_one(sql, (key,))
        if row is None:
            raise LookupError(f"aggregate {aggregate_id} is not in the log")
        return int(row["position"])

    return lookup


def build(settings: Settings | None = None, *, connections: int | None = None) -> CompositionRoot:
    """Migrate, then wire everything. Safe to call on an empty or an up-to-date database.

    `connections` caps each PostgreSQL pool (the event store's opens all of its own at once):
    for worker processes that read with one connection at a time."""
    settings = settings or Settings()
    url = settings.resolved_database_url
    replica = Database(settings.read_database_url) if settings.read_database_url else None
    db = Database(url, replica=replica, **({"pool_size": connections} if connections else {}))
    queries = Queries(db)
    env = db.url.eventsourcing_env()
    if db.dialect == "postgresql":
        env.update(APPLICATION_RECORDER_TOPIC=event_store.TOPIC)
    if connections and "POSTGRES_POOL_SIZE" in env:
        env.update(POSTGRES_POOL_SIZE=str(connections), POSTGRES_MAX_OVERFLOW=str(connections))

    def catch_up() -> None:
        # Candidates come from read models: bring them up to the head of the log first, so
        # what was recorded a moment ago is seen (the ledger re-checks each one anyway).
        # (`runner` is assigned below, before any command can run.) A stopped projection raises
        # ProjectionFailed: the command is refused with a 503, not decided on stale candidates.
        runner.ensure(ledger.recorder.max_notification_id() or 0)

    def open_receipts(fund: str, goods: str | None, district: str, commune: str,
                      category: str) -> Iterator[UUID]:
        catch_up()
        return queries.open_receipts(fund, goods, district, commune, category)

    def totals(figure: str, *, exact: bool) -> int:
        # (`bounds` is assigned below, before any command can run.)
        if exact:
            catch_up()
        return bounds.upper(figure)

    with db.schema_lock():  # the library creates its tables as the Ledger is made
        ledger = Ledger(
            env,
            areas=(areas := load_areas()),
            open_receipts=open_receipts,
            child_keys=ChildKeyTable(db),
            donor_keys=DonorKeyTable(db),
            service_key=load_service_key(settings.data_dir, settings.service_key_hex),
            position_of=position_of(db),
            dates=settings.date_window,
            totals=totals,
            child_max_age=settings.child_max_age,
            four_eyes_vnd=settings.four_eyes_vnd,
        )
        migrations.apply(db.url.yoyo_uri())
    runner = Runner(db, ledger, all_projections())
    bounds = TotalBounds(queries, ledger, runner.projections)
    ledger.commands.on_recorded = runner.wake.set  # new events: the read models follow at once
    tree_heads = TreeHeads(db, load_signing_key(settings.data_dir, settings.signing_key_hex))
    bank_queries = BankQueries(db, catch_up, ledger)
    return CompositionRoot(settings=settings, db=db, ledger=ledger, queries=queries, runner=runner,
                    areas=areas, tree_heads=tree_heads, bank=BankBook(ledger, bank_queries),
                    bank_queries=bank_queries,
                    checkpoints=Checkpoints(db, tree_heads, settings.checkpoint_origin,
                                            settings.witness_keys, settings.witness_quorum))
