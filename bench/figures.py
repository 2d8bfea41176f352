"""A measured figure next to its baseline, and the two ways of showing a list of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """`value` and `target` share `unit`; the target is met when value ≥ target, or, for a figure
    where lower is better (a latency), when value ≤ target."""

    name: str
    value: float
    unit: str
    baseline: float
    baseline_unit: str
    target: float
    lower_is_better: bool = False

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else 0.0

    @property
    def met(self) -> bool:
        return self.value <= self.target if self.lower_is_better else self.value >= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 1),
            "unit": self.unit,
            "baseline": round(self.baseline, 1),
            "baseline_unit": self.baseline_unit,
            "ratio": round(self.ratio, 3),
            "target": round(self.target, 1),
            "met": self.met,
        }


def json_list(figures: list[Figure]) -> str:
    return json.dumps([f.as_dict() for f in figures], ensure_ascii=False, indent=2)


def table(figures: list[Figure]) -> str:
    header = ("figure", "value", "baseline", "ratio", "target", "met")
    rows = [
        (
            f.name,
            f"{f.value:,.1f} {f.unit}",
            f"{f.baseline:,.1f} {f.baseline_unit}",
            f"{f.ratio:.3f}",
            f"{'≤' if f.lower_is_better else '≥'} {f.target:,.1f} {f.unit}",
            "yes" if f.met else "NO",
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
