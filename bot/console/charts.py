"""Small server-rendered SVG charts for the overview: no JavaScript, nothing from a CDN."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 26
COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#d97706")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000,
                 20_000, 50_000, 100_000, 1_000_000):
        if value <= step:
            return float(step)
    return float(value)


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.0f}%"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


Series = Sequence[tuple[str, Sequence[float | None]]]


def line_chart(title: str, days: Sequence[date], series: Series,
               percent: bool = False) -> Markup:
    """One or more series over the same days; None leaves a gap (no data that day)."""
    values = [v for _, points in series for v in points if v is not None]
    top = 100.0 if percent else _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return LEFT + plot_w * i / n

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(v, top) / top)

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for frac in (0, 0.5, 1):
        gy = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" '
                     f'stroke="#e5e7eb"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{gy + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#6b7280">{_fmt(top * frac, percent)}</text>')
    for i, day in enumerate(days):
        last = len(days) - 1
        if (i % 7 == 0 and last - i >= 3) or i == last:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                         f'font-size="11" fill="#6b7280">{day.month}/{day.day}</text>')
    for (name, points), colour in zip(series, COLOURS, strict=False):
        run: list[str] = []
        runs = []
        for i, v in enumerate(points):
            if v is None:
                if run:
                    runs.append(run)
                run = []
                continue
            run.append(f"{x(i):.1f},{y(v):.1f}")
        if run:
            runs.append(run)
        for r in runs:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                         f'points="{" ".join(r)}"><title>{escape(name)}</title></polyline>')
            if len(r) == 1:
                cx, cy = r[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        last = next((v for v in reversed(points) if v is not None), None)
        if last is not None:
            parts.append(f'<desc>{escape(name)}: {_fmt(last, percent)}</desc>')
    parts.append("</svg>")
    return Markup("".join(parts))
