"""A measured figure next to its baseline, and the two ways of showing a list of them."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """`value` and `target` share `unit`; the target is met when value ≥ target, or, for a figure
    where lower is better (a latency), when value ≤ target.

    A target is either absolute (`target`, for what a person waits for: a page, a proof, a staff
    member's import) or a ratio to the baseline measured in the same run (`target_ratio`): this
    machine's speed moves from run to run, and the baseline moves with it, so a ratio is judged on
    the ratio, and `target` is then reported as target_ratio × baseline."""

    name: str
    value: float
    unit: str
    baseline: float
    baseline_unit: str
    target: float | None = None
    lower_is_better: bool = False
    target_ratio: float | None = None

    def __post_init__(self) -> None:
        if (self.target is None) == (self.target_ratio is None):
            raise ValueError(f"{self.name}: give exactly one of target and target_ratio")

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else 0.0

    @property
    def threshold(self) -> float:
        """The target in the unit of `value`."""
        if self.target_ratio is not None:
            return self.target_ratio * self.baseline
        assert self.target is not None
        return self.target

    @property
    def met(self) -> bool:
        if self.target_ratio is not None:
            measured, wanted = self.ratio, self.target_ratio
        else:
            measured, wanted = self.value, self.threshold
        return measured <= wanted if self.lower_is_better else measured >= wanted

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 1),
            "unit": self.unit,
            "baseline": round(self.baseline, 1),
            "baseline_unit": self.baseline_unit,
            "ratio": round(self.ratio, 3),
            "target": round(self.threshold, 1),
            "met": self.met,
        }


def percentile(values: Sequence[float], p: int) -> float:
    """The p-th percentile (1 ≤ p ≤ 99) as `statistics.quantiles` cuts it (exclusive method)."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100)[p - 1]


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
            f"{'≤' if f.lower_is_better else '≥'} {f.threshold:,.1f} {f.unit}"
            + (f" ({f.target_ratio:g} × baseline)" if f.target_ratio is not None else ""),
            "yes" if f.met else "NO",
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
