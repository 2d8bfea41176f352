"""Children (pseudonymous) and needs read models, the list of all projections, choosing by name."""

from __future__ import annotations

from typing import Any

from projections.balances import Balances
from projections.bank import Bank
from projections.base import Projection, handles
from projections.db import Cursor
from projections.donations import Donations
from projections.merkle import MerkleTree
from projections.traces import Traces


class Children(Projection):
    """Ids, codes and places only: personal fields stay sealed in the log."""

    name = "children"
    tables = ("children",)

    @handles("Child.Registered")
    def registered(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO children (child_id, position, code, district, commune) VALUES (?,?,?,?,?)",
            (str(e.originator_id), position, e.code, e.district, e.commune),
        )


class Needs(Projection):
    name = "needs"
    tables = ("needs",)

    @handles("Need.Opened")
    def opened(self, cur: Cursor, e: Any, position: int) -> None:
        self.insert(
            "INSERT INTO needs (need_id, season, commune, category, district, position,"
            " children_count, estimated_vnd) VALUES (?,?,?,?,?,?,0,0)",
            (str(e.originator_id), e.season, e.commune, e.category, e.district, position),
        )

    @handles("Need.Surveyed")
    def surveyed(self, cur: Cursor, e: Any, position: int) -> None:
        self.update(
            "UPDATE needs SET children_count = ?, estimated_vnd = ?, position = ? WHERE need_id = ?",
            (e.children_count, e.estimated_vnd, position, str(e.originator_id)),
        )


def all_projections() -> list[Projection]:
    return [Balances(), Donations(), Traces(), Children(), Needs(), Bank(), MerkleTree()]


class UnknownProjection(ValueError):
    pass


def select_projections(projections: list[Projection], names: list[str]) -> list[Projection]:
    """The projections named, in their usual order; every name must be one of theirs."""
    valid = [p.name for p in projections]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise UnknownProjection(f"unknown projection{'s' if len(unknown) > 1 else ''}"
                                f" {', '.join(unknown)}; the projections are: {', '.join(valid)}")
    return [p for p in projections if p.name in names]
