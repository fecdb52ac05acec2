"""The overview's chart, pure: per-minute counts as the bars of an inline SVG, drawn on the
server (no script, no chart library)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 180, 40, 20, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str  # the minute and its count, shown by the browser on hover


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int  # the top of the scale
    left: int
    baseline: float
    labels: list[tuple[float, str]]  # (x, text) along the time axis
    total: int


def bars(points: Sequence[tuple[datetime, int]]) -> Chart:
    peak = max((n for _, n in points), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(points), 1)
    drawn = []
    for k, (minute, n) in enumerate(points):
        h = plot_h * n / peak
        drawn.append(
            Bar(
                round(LEFT + k * step + step * 0.1, 2),
                round(TOP + plot_h - h, 2),
                round(step * 0.8, 2),
                round(h, 2),
                f"{minute:%H:%M} UTC: {n}",
            )
        )
    # A time every quarter of an hour; the last bar (the current minute) is "now".
    labels = [
        (round(LEFT + k * step, 2), f"{points[k][0]:%H:%M}") for k in range(0, len(points) - 1, 15)
    ]
    return Chart(WIDTH, HEIGHT, drawn, peak, LEFT, TOP + plot_h, labels, sum(n for _, n in points))
