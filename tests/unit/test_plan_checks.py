"""The pure checks of issue 12, item 7: eligible communes, a child's age, a season's year, and
no distribution dated before the receipts it draws on."""

from __future__ import annotations

import json
from datetime import date
from uuid import uuid4

import pytest

from domain.areas import AreaTree
from domain.dates import DateWindow
from domain.errors import CommuneNotEligible, DistributedBeforeReceived, InvalidInput
from domain.inputs import check_child_age
from domain.meta import Context
from domain.money import check_season
from domain.programmes import Piece, Programme

TREE = AreaTree.from_json(json.dumps({"areas": [
    {"code": "20", "name": "Tỉnh", "kind": "province"},
    {"code": "180", "name": "Huyện", "kind": "district", "parent": "20"},
    {"code": "06043", "name": "Xã A", "kind": "commune", "parent": "180", "extremely_difficult": True},
    {"code": "05971", "name": "Phường B", "kind": "commune", "parent": "180"},
]}))


def test_only_flagged_communes_or_an_admins_reason() -> None:
    assert TREE.check_eligible("06043", override_reason=None, admin=False) is None
    assert TREE.check_eligible("06043", override_reason="x", admin=True) is None  # not an override
    assert TREE.check_eligible("05971", override_reason="QĐ bổ sung", admin=True) == "QĐ bổ sung"
    for reason, admin in ((None, False), (None, True), ("QĐ bổ sung", False)):
        with pytest.raises(CommuneNotEligible):
            TREE.check_eligible("05971", override_reason=reason, admin=admin)


def test_a_child_is_under_the_max_age_in_years_of_birth() -> None:
    today = date(2026, 12, 2)
    check_child_age(2011, today=today)
    check_child_age(2026, today=today)
    check_child_age(None, today=today)
    for year in (2010, 1990, 2027):
        with pytest.raises(InvalidInput):
            check_child_age(year, today=today)
    check_child_age(2009, today=today, max_age=18)


def test_a_season_is_a_year_of_the_window() -> None:
    window = DateWindow(first=date(2020, 1, 1), ahead_days=0, today=lambda: date(2022, 6, 1))
    assert check_season("2021", window) == "2021"
    assert check_season("2022-tet", window) == "2022-tet"
    for season in ("0000", "2019", "2023", "0000-tet", "21"):
        with pytest.raises(InvalidInput):
            check_season(season, window)


def test_a_distribution_is_not_dated_before_its_receipts() -> None:
    meta = Context(actor="t", role="finance", request_id="r").meta()
    programme = Programme(id=uuid4(), season="2021", district="180", commune="06043",
                          category="warm-clothing", meta=meta)
    allocation, old, new, legacy = uuid4(), str(uuid4()), str(uuid4()), str(uuid4())
    programme.receive(allocation_id=allocation, meta=meta, pieces=[
        {"receipt_id": old, "amount_vnd": 100, "quantity": 0, "item": None, "received_on": "2021-03-01"},
        {"receipt_id": new, "amount_vnd": 100, "quantity": 0, "item": None, "received_on": "2021-05-01"},
        # Allocated before the receipt's date was kept with the tranche: not checked.
        {"receipt_id": legacy, "amount_vnd": 100, "quantity": 0, "item": None}])

    def piece(receipt_id: str) -> Piece:
        return Piece(allocation_id=str(allocation), receipt_id=receipt_id, amount_vnd=50, quantity=0)

    programme.check_dated("2021-03-01", [piece(old)])
    programme.check_dated("2021-04-01", [piece(old), piece(legacy)])
    programme.check_dated("1999-01-01", [piece(legacy)])
    with pytest.raises(DistributedBeforeReceived):
        programme.check_dated("2021-02-28", [piece(old)])
    with pytest.raises(DistributedBeforeReceived):
        programme.check_dated("2021-04-30", [piece(old), piece(new)])
