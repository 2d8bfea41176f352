"""Needs surveyed per season × commune × category; the latest survey stands."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.meta import Meta
from domain.seasons import AfterClosing


class Need(Aggregate):
    @event("Opened")
    def __init__(self, *, id: UUID, season: str, district: str, commune: str, category: str,
                 meta: Meta) -> None:
        """A need of a season, commune and category was surveyed for the first time."""
        self.season = season
        self.district = district
        self.commune = commune
        self.category = category

    @event("Surveyed")
    def survey(self, *, children_count: int, estimated_vnd: int, note: str | None, meta: Meta,
               override_reason: str | None = None,
               after_closing: AfterClosing | None = None) -> None:
        """A survey counted the children in need and the estimated cost; the latest survey stands.
        `override_reason` is an admin's, when the commune is not extremely difficult;
        `after_closing` the admin's reason when its season was closed already."""
        self.children_count = children_count
        self.estimated_vnd = estimated_vnd
