"""Children reached are distinct children at every grain (docs/public-figures.md): for random
ledgers (children, distributions naming some of them or counting a group, reversals, in two
seasons, three communes of two districts and two categories), what the donations projection
keeps, the summary and the place pages equal a count of distinct children from a plain model,
at every grain: a season or all seasons; everywhere, a district or a commune; a category or all.

Each example writes seasons of its own year into one ledger, so the model of all seasons
accumulates across examples, as the ledger does."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.meta import Context
from domain.small_cells import small
from ledger.bootstrap import CompositionRoot
from projections.donations import ALL
from projections.public_pages import PublicPages
from projections.queries import reached
from tests.conftest import make_services

CTX = Context(actor="test", role="finance", request_id="children-reached")
CATEGORIES = ("warm-clothing", "nutrition-health")


@dataclass
class Made:
    season: str
    district: str
    commune: str
    category: str
    children: frozenset[str]
    counted: int
    reversed: bool = False


@dataclass
class Ledger:
    services: CompositionRoot
    communes: list[tuple[str, str]]  # (district, commune)
    made: list[Made]
    runs: Iterator[int]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    tmp = tmp_path_factory.mktemp("reached")
    svc = make_services(f"sqlite:///{tmp / 'ledger.db'}", tmp / "data", seasons=False)
    # Communes the plan supports (allocations go only to extremely difficult ones).
    eligible = [a for a in svc.areas.communes() if a.extremely_difficult]
    districts = sorted({a.parent for a in eligible if a.parent})[:2]
    picked = [(d, c.code) for d in districts for c in eligible if c.parent == d][:3]
    try:
        yield Ledger(svc, picked, [], itertools.count(1))
    finally:
        svc.close()


def _hash() -> str:
    return uuid.uuid4().hex


Step = tuple[str, int, int, int, list[int], int]

steps = st.lists(st.one_of(
    st.tuples(st.just("child"), st.integers(0, 2), st.just(0), st.just(0), st.just([]), st.just(0)),
    # season, commune, category, children (indices into those registered), counted group
    st.tuples(st.just("give"), st.integers(0, 1), st.integers(0, 2), st.integers(0, 1),
              st.lists(st.integers(0, 20), max_size=4, unique=True), st.integers(0, 7)),
    st.tuples(st.just("reverse"), st.integers(0, 30), st.just(0), st.just(0), st.just([]),
              st.just(0)),
), min_size=5, max_size=40)


def expected(made: list[Made], season: str, district: str, commune: str,
             category: str) -> int:
    """The simple model: distinct children named, plus the groups of distributions naming none."""
    live = [m for m in made if not m.reversed
            and season in (ALL, m.season) and district in (ALL, m.district)
            and commune in (ALL, m.commune) and category in (ALL, m.category)]
    named: set[str] = set().union(*(m.children for m in live))
    return len(named) + sum(m.counted for m in live if not m.children)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(steps=steps)
def test_children_reached_are_distinct_children_at_every_grain(ledger: Ledger,
                                                               steps: list[Step]) -> None:
    svc = ledger.services
    # Two seasons of their own per example (the ledger is shared), a day each (seasons never
    # overlap), after the money they draw on.
    run = next(ledger.runs)
    days = [date(2000, 1, 2) + timedelta(days=2 * run + n) for n in (0, 1)]
    seasons = (f"{days[0].year}-run{run}", f"{days[1].year}-run{run}-tet")
    for season, day in zip(seasons, days, strict=True):
        svc.ledger.open_season(CTX, _hash(), code=season, name=season, starts_on=day.isoformat(),
                               ends_on=day.isoformat())
    donor = UUID(svc.ledger.register_donor(CTX, _hash(), name="Nhà hảo tâm", kind="organisation",
                                           public_name="Nhà hảo tâm")["id"])
    svc.ledger.record_receipt(CTX, _hash(), donor_id=donor, fund="campaign",
                              received_on="2000-01-01", channel="cash", amount_vnd=100_000_000)
    children: list[tuple[str, str]] = []  # (commune, child id)
    programmes: set[tuple[str, str, str]] = set()
    distributions: list[tuple[UUID, Made]] = []
    for kind, a, b, c, picks, count in steps:
        if kind == "child":
            commune = ledger.communes[a][1]
            child = svc.ledger.register_child(CTX, _hash(), commune=commune,
                                              personal={"full_name": "Trẻ", "birth_year": 2015})
            children.append((commune, child["id"]))
        elif kind == "give":
            season, (district, commune), category = seasons[a], ledger.communes[b], CATEGORIES[c]
            # Support is given in the child's own commune: name children registered there.
            here = [child for place, child in children if place == commune]
            named = sorted({here[p % len(here)] for p in picks} if here else set())
            if not named and not count:
                continue
            if (season, commune, category) not in programmes:
                svc.ledger.allocate(CTX, _hash(), fund="campaign", season=season, commune=commune,
                                    category=category, decision_ref="QĐ 1", amount_vnd=1_000_000)
                programmes.add((season, commune, category))
            lines: list[dict[str, Any]] = [{"child_id": child, "description": "Áo",
                                            "value_vnd": 1_000} for child in named]
            if not named:
                lines = [{"description": "Nhóm", "quantity": count, "value_vnd": 1_000}]
            # A count beside named lines is left out of the figure: one example in two has one.
            done = svc.ledger.distribute(CTX, _hash(), season=season, commune=commune,
                                         category=category, distributed_on=days[a].isoformat(),
                                         lines=lines, beneficiaries_count=count or None,
                                         duplicate_reason="Bổ sung")
            made = Made(season, district, commune, category, frozenset(named), count)
            distributions.append((UUID(done["id"]), made))
            ledger.made.append(made)
        elif kind == "reverse" and distributions:
            target, made = distributions[a % len(distributions)]
            if not made.reversed:
                svc.ledger.reverse(CTX, _hash(), target_id=target, reason="Nhầm")
                made.reversed = True
    svc.runner.catch_up()

    places = [(ALL, ALL)] + [(d, ALL) for d in {d for d, _ in ledger.communes}] + ledger.communes
    with svc.db.read() as cur:
        for season in (*seasons, ALL):
            kept = reached(cur, None if season == ALL else season)
            for (district, commune), category in itertools.product(places, (*CATEGORIES, ALL)):
                want = expected(ledger.made, season, district, commune, category)
                got = kept.get((district, commune, category), (0, 0))[0]
                assert got == want, (season, district, commune, category)

    # The summary's headline and groups, and a district's page, read the same figures.
    for season in (seasons[0], None):
        grain = season or ALL
        summary = svc.queries.summary(season)
        assert summary["children_reached"] == small(expected(ledger.made, grain, ALL, ALL, ALL))
        for row in summary["by_district"]:
            assert row["children_reached"] == small(
                expected(ledger.made, grain, row["district"], ALL, ALL))
        for row in summary["by_category"]:
            assert row["children_reached"] == small(expected(ledger.made, grain, ALL, ALL,
                                                             row["category"]))
        district = ledger.communes[0][0]
        page = PublicPages(svc.db, svc.queries).place(season=season, district=district)
        for g in page["by_category"]:
            assert g["children"] == small(expected(ledger.made, grain, district, ALL, g["key"]))
        for g in page["by_commune"]:
            assert g["children"] == small(expected(ledger.made, grain, district, g["key"], ALL))


def test_two_children_in_two_programmes_are_two(tmp_path: Path) -> None:
    """The case of the issue: two children, each supported in two categories, were shown as 4."""
    svc = make_services(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "data")
    try:
        commune = next(a.code for a in svc.areas.communes() if a.extremely_difficult)
        donor = UUID(svc.ledger.register_donor(CTX, _hash(), name="A", kind="organisation",
                                               public_name="A")["id"])
        svc.ledger.record_receipt(CTX, _hash(), donor_id=donor, fund="campaign",
                                  received_on="2021-10-01", channel="cash", amount_vnd=10_000_000)
        kids = [svc.ledger.register_child(CTX, _hash(), commune=commune,
                                          personal={"full_name": n, "birth_year": 2015})["id"]
                for n in ("Mai", "Lan")]
        for category in CATEGORIES:
            svc.ledger.allocate(CTX, _hash(), fund="campaign", season="2021", commune=commune,
                                category=category, decision_ref="QĐ 1", amount_vnd=1_000_000)
            svc.ledger.distribute(CTX, _hash(), season="2021", commune=commune, category=category,
                                  distributed_on="2021-12-01",
                                  lines=[{"child_id": k, "description": "x", "value_vnd": 1_000}
                                         for k in kids])
        svc.runner.catch_up()
        with svc.db.read() as cur:
            assert reached(cur, "2021")[(ALL, ALL, ALL)] == (2, 0)
            assert reached(cur, None)[(ALL, ALL, ALL)] == (2, 0)
        assert svc.queries.summary("2021")["children_reached"] == "< 5"
    finally:
        svc.close()
