"""The tree of administrative areas (reference data, loaded from a data file, not code)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput
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

    def communes(self, district: str | None = None) -> list[Area]:
        return [
            a for a in self.by_code.values()
            if a.kind == "commune" and (district is None or a.parent == district)
        ]
