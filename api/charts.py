"""Charts drawn on the server as inline SVG: readable without JavaScript, tiny, and allowed by a
strict Content-Security-Policy (presentation attributes and classes only, no inline style)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from domain.text import format_vnd

# Labels sit above their bars, so long Vietnamese names fit on a 360 px phone.
ROW = 46
BAR = 16
WIDTH = 480


def _short_vnd(amount: int) -> str:
    """1.250.000.000 ₫ → '1,25 tỷ ₫'; short labels that fit beside a bar on a phone."""
    for size, unit in ((10**9, "tỷ"), (10**6, "tr")):
        if abs(amount) >= size:
            return f"{amount / size:.2f}".rstrip("0").rstrip(".").replace(".", ",") + f" {unit} ₫"
    return format_vnd(amount)


def bars(title: str, items: Sequence[tuple[str, int]], *, percent: bool = False) -> Markup:
    """Horizontal bars, one per (label, value); values in đồng, or in percent."""
    if not items:
        return Markup("")
    top = max(max(v for _, v in items), 1)
    height = len(items) * ROW
    span = WIDTH - 110
    rows = []
    for i, (label, value) in enumerate(items):
        y = i * ROW
        length = max(1, round(span * value / top)) if value > 0 else 0
        shown = f"{value}%" if percent else _short_vnd(value)
        rows.append(
            f'<text x="0" y="{y + 17}" class="label">{escape(label)}</text>'
            f'<rect x="0" y="{y + 23}" width="{length}" height="{BAR}" rx="3" class="bar"/>'
            f'<text x="{length + 6}" y="{y + 36}" class="value">{escape(shown)}</text>')
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}"'
        f' preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>{"".join(rows)}</svg>')


def line(title: str, points: Sequence[tuple[str, int]]) -> Markup:
    """A line over time: (label, value) in order, e.g. ('03/2021', received that month)."""
    if not points:
        return Markup("")
    height, left, bottom, top_pad = 240, 80, 30, 16
    top = max(max(v for _, v in points), 1)
    step = (WIDTH - left - 20) / max(len(points) - 1, 1)

    def xy(i: int, v: int) -> tuple[float, float]:
        return left + i * step, top_pad + (height - bottom - top_pad) * (1 - v / top)

    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}"
                    for i, (x, y) in enumerate(xy(i, v) for i, (_, v) in enumerate(points)))
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="dot"/>'
                   for x, y in (xy(i, v) for i, (_, v) in enumerate(points)))
    every = -(-len(points) // 5)  # at most about five labels: they must not touch on a phone
    ticks = "".join(
        f'<text x="{xy(i, 0)[0]:.1f}" y="{height - 8}" text-anchor="middle" class="label">'
        f'{escape(label)}</text>'
        for i, (label, _) in enumerate(points) if i % every == 0)
    axis = (f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" class="label">'
            f'{escape(_short_vnd(top))}</text>'
            f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - 20}" y2="{height - bottom}"'
            ' class="axis"/>')
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}"'
        f' preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>{axis}'
        f'<path d="{path}" class="line"/>{dots}{ticks}</svg>')
