"""The tree of administrative areas (reference data, loaded from a data file, not code)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domain.errors import CommuneNotEligible, InvalidInput
from domain.text import nfc


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    kind: str  # province, district, commune
    parent: str | None
    extremely_difficult: bool = False


class AreaTree:
    def __init__(self, areas: list[Area]) -> None:
        self.by_code = {a.code: a for a in areas}

    @classmethod
    def from_json(cls, text: str) -> AreaTree:
        rows: list[dict[str, Any]] = json.loads(text)["areas"]
        return cls(
            [
                Area(
                    code=str(r["code"]),
                    name=nfc(r["name"]),
                    kind=r["kind"],
                    parent=r.get("parent"),
                    extremely_difficult=bool(r.get("extremely_difficult", False)),
                )
                for r in rows
            ]
        )

    def all(self) -> list[Area]:
        return list(self.by_code.values())

    def commune(self, code: str) -> Area:
        area = self.by_code.get(code)
        if area is None or area.kind != "commune":
            raise InvalidInput(f"unknown commune {code!r}")
        return area

    def district(self, code: str) -> Area:
        area = self.by_code.get(code)
        if area is None or area.kind != "district":
            raise InvalidInput(f"unknown district {code!r}")
        return area

    def district_of(self, commune_code: str) -> str:
        parent = self.commune(commune_code).parent
        assert parent is not None, "a commune always has a district"
        return parent

    def check_eligible(self, commune_code: str, *, override_reason: str | None,
                       admin: bool) -> str | None:
        """The override reason to record, or None: the plan supports only the communes flagged
        extremely difficult; an admin may allocate to, or survey, another commune with a reason
        (recorded, and counted publicly). A reason from anyone else is refused rather than
        ignored, since the caller asked for an override; for an eligible commune none is needed,
        and none is recorded, so that the public count holds only true overrides."""
        if override_reason is not None and not admin:
            raise CommuneNotEligible("only an admin may override the extremely-difficult rule")
        if self.commune(commune_code).extremely_difficult:
            return None
        if override_reason:
            return override_reason
        raise CommuneNotEligible(
            f"commune {commune_code} is not flagged extremely difficult: the plan does not support it"
            " (an admin may override this with override_reason)")

    def communes(self, district: str | None = None) -> list[Area]:
        return [
            a for a in self.by_code.values()
            if a.kind == "commune" and (district is None or a.parent == district)
        ]
