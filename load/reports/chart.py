"""Claims by outcome over recent runs as an inline SVG: a stacked bar per run, no script, no assets."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from schemas.reasons import OUTCOMES

COLOURS = {
    "submitted": "#2e7d32",
    "corrected": "#1565c0",
    "revoked": "#6a1b9a",
    "delayed": "#ef6c00",
    "rejected": "#c62828",
    "unchanged": "#9e9e9e",
    "duplicate": "#6d4c41",
}
WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 20, 56


def _tick_step(largest: int) -> int:
    """A step of 1, 2 or 5 times a power of ten such that four steps reach `largest`."""
    rough = max(largest / 4, 1)
    magnitude = 10 ** int(math.floor(math.log10(rough)))
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= rough)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def outcome_chart_svg(history: pd.DataFrame) -> str:
    """`history` has a `run` column and one column per outcome, oldest run first."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    counts = history.reindex(columns=list(OUTCOMES), fill_value=0).fillna(0).astype("int64")
    step = _tick_step(int(counts.sum(axis=1).max()) if len(counts) else 0)
    top = step * 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-labelledby="chart-title" class="chart">',
        '<title id="chart-title">Claims by outcome over recent runs (stacked bars, oldest run first)</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    for i in range(5):  # gridlines at 0, 1/4, ... of the scale
        value = step * i
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" y1="{_n(y)}" x2="{LEFT + plot_w}" y2="{_n(y)}" stroke="#d0d5dd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{_n(y + 4)}" text-anchor="end" font-size="11" fill="#344054">{value:,}</text>'
        )
    slot = plot_w / max(len(counts), 1)
    bar = min(slot * 0.6, 48)
    for position, (run, row) in enumerate(zip(history["run"], counts.itertuples(index=False), strict=True)):
        x = LEFT + slot * position + (slot - bar) / 2
        y = TOP + plot_h
        for outcome, value in zip(OUTCOMES, row, strict=True):
            if value <= 0:
                continue
            height = plot_h * value / top
            y -= height
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(height)}" '
                f'fill="{COLOURS[outcome]}"><title>{escape(str(run))}: {value:,} {outcome}</title></rect>'
            )
        parts.append(
            f'<text x="{_n(x + bar / 2)}" y="{_n(y - 4)}" text-anchor="middle" font-size="11" '
            f'fill="#101828">{sum(row):,}</text>'
        )
        parts.append(
            f'<text x="{_n(x + bar / 2)}" y="{TOP + plot_h + 16}" text-anchor="middle" font-size="11" '
            f'fill="#344054" font-family="monospace">{escape(str(run))}</text>'
        )
    parts.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#344054"/>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 12}" text-anchor="middle" font-size="12" '
        'fill="#344054">run (first 8 characters of the run id), oldest first</text>'
    )
    parts.append(
        f'<text x="14" y="{TOP + plot_h / 2:.0f}" text-anchor="middle" font-size="12" fill="#344054" '
        f'transform="rotate(-90 14 {TOP + plot_h / 2:.0f})">claims</text>'
    )
    for i, outcome in enumerate(OUTCOMES):
        y = TOP + 8 + i * 20
        parts.append(f'<rect x="{WIDTH - RIGHT + 16}" y="{y}" width="12" height="12" fill="{COLOURS[outcome]}"/>')
        parts.append(f'<text x="{WIDTH - RIGHT + 34}" y="{y + 10}" font-size="12" fill="#101828">{outcome}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
