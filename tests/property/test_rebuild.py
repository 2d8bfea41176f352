"""Any projection dropped and rebuilt from position 0 equals the live one (DESIGN §4), row for row.

The ledger state machine of `test_ledger_machine` runs random commands (and keeps checking the
read models against its model); here it also rebuilds every projection, at random moments with a
random batch size and once more at the end of each run with `services.runner.rebuild()`, and
every table of every projection must hold exactly the rows it held before.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from ledger.bootstrap import CompositionRoot
from projections.read_models import all_projections
from projections.runner import Runner
from tests.property.test_ledger_machine import (
    MACHINE_SETTINGS,
    LedgerMachine,
    PostgresLedgerMachine,
    SqliteLedgerMachine,
    require_postgres,
)

Dump = dict[str, list[str]]


def dump(services: CompositionRoot) -> Dump:
    """Every row of every projection's tables, and the projections' positions, sorted."""
    tables = [t for p in all_projections() for t in p.tables]
    assert len(tables) == len(set(tables)), "a table belongs to one projection"
    out: Dump = {}
    for table in [*tables, "projection_tracking"]:
        rows = services.db.query(f"SELECT * FROM {table}")
        out[table] = sorted(json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
                            for row in rows)
    return out


def differences(before: Dump, after: Dump) -> dict[str, Any]:
    return {t: {"only_live": sorted(set(before[t]) - set(after[t])),
                "only_rebuilt": sorted(set(after[t]) - set(before[t])),
                "rows": (len(before[t]), len(after[t]))}
            for t in before if before[t] != after[t]}


class RebuildChecks(LedgerMachine):
    def rebuilt_equals_live(self, batch_size: int | None) -> None:
        services = self.services
        services.runner.catch_up()
        before = dump(services)
        head = self.head()
        assert [json.loads(r)["position"] for r in before["projection_tracking"]] == [head] * len(
            all_projections()), "every projection had caught up with the log"
        if batch_size is None:
            services.runner.rebuild()
        else:
            Runner(services.db, services.ledger, all_projections(), batch_size=batch_size).rebuild()
        after = dump(services)
        assert after == before, differences(before, after)

    @rule(batch_size=st.integers(1, 7))
    def rebuild_in_small_batches(self, batch_size: int) -> None:
        self.busy = True
        self.rebuilt_equals_live(batch_size)

    def teardown(self) -> None:
        try:
            if not self.busy:  # the run ended cleanly: rebuild once more, as an operator would
                self.rebuilt_equals_live(None)
        finally:
            super().teardown()


class SqliteRebuildMachine(RebuildChecks, SqliteLedgerMachine):
    pass


class PostgresRebuildMachine(RebuildChecks, PostgresLedgerMachine):
    pass


def test_rebuilt_projections_equal_the_live_ones_on_sqlite() -> None:
    run_state_machine_as_test(SqliteRebuildMachine, settings=MACHINE_SETTINGS)


@pytest.mark.postgres
def test_rebuilt_projections_equal_the_live_ones_on_postgresql() -> None:
    require_postgres()
    run_state_machine_as_test(PostgresRebuildMachine, settings=MACHINE_SETTINGS)
