"""The event catalogue: docs/events.md is the code's, and everything that names an event by its
kind (projections, the public leaf, the offline tools) names one that exists.

A projection handler keyed by a misspelt or renamed event is silently never called, and a kind
in the leaf table that no event has publishes nothing: neither fails anywhere else."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import domain
from domain.event_catalogue import AGGREGATE_MODULES, COMMAND, aggregates, catalogue, render_markdown
from domain.leaf import ORIGIN_KINDS
from projections.read_models import all_projections

ROOT = Path(__file__).resolve().parents[2]
KINDS = {e.kind for e in catalogue()}
# How code spells an event kind: `Aggregate.Event`, both capitalised.
KIND = re.compile(r"^[A-Z][A-Za-z]+\.[A-Z][A-Za-z]+$")


def test_the_page_is_generated_from_the_code() -> None:
    page = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert page == render_markdown(), f"docs/events.md is stale: run {COMMAND}"


def test_the_catalogue_holds_the_events_it_should() -> None:
    events = {e.kind: e for e in catalogue()}
    recorded = events["Receipt.Recorded"]
    assert recorded.creates and recorded.topic == "domain.receipts:Receipt.Recorded"
    fields = {f.name: f for f in recorded.fields}
    assert fields["amount_vnd"].annotation == "int"
    assert fields["donor_name"].default == "None"
    assert "id" not in fields and "self" not in fields  # the id is the event's originator_id
    assert recorded.public is not None and "amount_vnd" in recorded.public
    assert [e.name for e in catalogue() if e.aggregate == "Receipt"] == [
        "Recorded", "Drawn", "Returned", "Reversed"]
    assert {"Donor.Registered", "Pledge.Made", "Programme.FundsAllocated", "Claim.Released"} <= set(events)


def test_every_aggregate_module_is_catalogued() -> None:
    # A new module with an aggregate must join AGGREGATE_MODULES, or its events go unlisted.
    modules = [importlib.import_module(m.name) for m in pkgutil.iter_modules(domain.__path__, "domain.")]
    unlisted = {cls.__module__ for cls in aggregates(modules)} - {m.__name__ for m in AGGREGATE_MODULES}
    assert not unlisted, f"add these to domain.event_catalogue.AGGREGATE_MODULES: {sorted(unlisted)}"


def test_every_event_has_a_meaning() -> None:
    missing = [e.kind for e in catalogue() if not e.meaning]
    assert not missing, f"give these event methods a docstring (what happened, and why it matters): {missing}"


def test_every_event_has_one_kind() -> None:
    kinds = [e.kind for e in catalogue()]
    assert len(kinds) == len(set(kinds))
    assert all(e.topic == f"{e.module}:{e.kind}" for e in catalogue())


def test_every_projection_handles_events_that_exist() -> None:
    unknown = {(p.name, kind) for p in all_projections() for kind in p.handlers if kind not in KINDS}
    assert not unknown, f"handlers of events no aggregate records: {sorted(unknown)}"


def test_the_public_leaf_names_events_that_exist() -> None:
    assert set(ORIGIN_KINDS) <= KINDS
    published = {e.kind for e in catalogue() if e.public is not None}
    assert {"Receipt.Recorded", "Allocation.Made", "Distribution.Made", "Receipt.Reversed"} <= published


def _kinds_named(path: Path) -> set[tuple[str, int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {(str(path.relative_to(ROOT)), node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and KIND.match(node.value)}


def test_code_names_only_events_that_exist() -> None:
    # The public leaf table (domain/leaf.py), projections' own checks, and the offline tools
    # (tools/verify_export.py keeps its own copy of the leaf table, importing nothing of ours).
    files = [p for folder in ("domain", "projections", "ledger", "tools")
             for p in sorted((ROOT / folder).rglob("*.py"))]
    named = set().union(*(_kinds_named(p) for p in files))
    assert any(where == "domain/leaf.py" for where, _, _ in named)
    assert any(where == "tools/verify_export.py" for where, _, _ in named)
    unknown = sorted(n for n in named if n[2] not in KINDS)
    assert not unknown, f"these name events that no aggregate records: {unknown}"
