"""Every read model the runner keeps, in the order they are applied, and choosing some by name."""

from __future__ import annotations

from projections.after_closing import AfterClosing
from projections.balances import Balances
from projections.bank import Bank
from projections.base import Projection
from projections.children import Children
from projections.donations import Donations
from projections.merkle import MerkleTree
from projections.needs import Needs
from projections.proposals import Proposals
from projections.traces import Traces


def all_projections() -> list[Projection]:
    return [Balances(), Donations(), Traces(), Children(), Needs(), Bank(), Proposals(), AfterClosing(),
            MerkleTree()]


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
