"""The layers hold (docs/design.md, "Architecture"): each package imports only those below it,
the domain holds rules only, and no route imports another route. tools/import_graph.py prints the
graph; this test is its --check."""

from __future__ import annotations

from tools.import_graph import PACKAGES, modules, package_graph, violations


def test_every_import_follows_the_layers() -> None:
    mods = modules()
    assert {"domain.receipts", "ledger.command_runner", "api.routes.public"} <= set(mods)
    assert violations(mods) == []


def test_the_check_sees_an_import_against_the_layers() -> None:
    # The check is not vacuous: the same rules find what the old layout had.
    mods = {"domain.ledger": {"threading", "eventsourcing.application.Application"},
            "projections.bank": {"ledger.application"},
            "api.routes.public": {"api.routes.audit.inclusion_proof"}, "api.routes.audit": set()}
    found = violations(mods)
    assert len(found) == 4, found
    assert any("a route never imports a route" in f for f in found)


def test_the_packages_depend_downwards_only() -> None:
    graph = package_graph(modules())
    order = ["domain", "projections", "adapters", "ledger", "api"]
    for package, imported in graph.items():
        assert package in PACKAGES
        for other in imported - {"migrations"}:
            assert order.index(other) < order.index(package), (package, other)
