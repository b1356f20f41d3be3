"""Server-rendered SVG charts: data in, SVG markup out, no script and no style attributes.

A chart is an image to assistive technology (``role="img"`` named by its ``<title>`` and
``<desc>``); the page puts an equivalent data table beside it. Colours come from the classes
``chart``, ``bar`` and ``axis`` in ``static/app.css``. Every piece of text is escaped here, which
is why the result is ``Markup`` that a template may print as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 12, 26
BASELINE = HEIGHT - BOTTOM
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, BASELINE - TOP
BAR_SHARE = 0.7  # of each bar's slot; the rest is the gap
CHART_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Bar:
    """One bar: its full label (shown on hover), its value, and its short axis label if any."""

    label: str
    value: float
    tick: str = ""


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    value_text: Callable[[float], str] = lambda value: f"{value:g}",
) -> Markup:
    """A vertical bar chart, bar heights proportional to the values (negatives count as 0)."""
    if not CHART_ID.fullmatch(chart_id):
        raise ValueError(f"{chart_id!r} is not a usable element id")
    top = nice_ceiling(max((_drawn(bar.value) for bar in bars), default=0.0))
    slot = PLOT_WIDTH / max(len(bars), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
        *_axes(top, value_text),
    ]
    for index, bar in enumerate(bars):
        parts += _bar(bar, x=LEFT + index * slot, slot=slot, top=top, value_text=value_text)
    parts.append("</svg>")
    return Markup("\n".join(parts))


def nice_ceiling(value: float) -> float:
    """The top of the value axis: 1, 2, 2.5 or 5 times a power of ten, at least ``value``."""
    if not (math.isfinite(value) and value > 0):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power  # pragma: no cover  # the loop always returns


def _drawn(value: float) -> float:
    """What a bar stands for on the axis: the value, or 0 when negative or not a number."""
    return value if math.isfinite(value) and value > 0 else 0.0


def _axes(top: float, value_text: Callable[[float], str]) -> list[str]:
    right = WIDTH - RIGHT
    return [
        f'<line class="axis" x1="{LEFT}" y1="{BASELINE}" x2="{right}" y2="{BASELINE}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BASELINE}"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{escape(value_text(top))}</text>',
        f'<text x="{LEFT - 4}" y="{BASELINE}" text-anchor="end">{escape(value_text(0.0))}</text>',
    ]


def _bar(
    bar: Bar, *, x: float, slot: float, top: float, value_text: Callable[[float], str]
) -> list[str]:
    height = _drawn(bar.value) / top * PLOT_HEIGHT
    width = slot * BAR_SHARE
    left = x + (slot - width) / 2
    said = escape(f"{bar.label}: {value_text(bar.value)}")
    parts = [
        f'<rect class="bar" x="{left:.2f}" y="{BASELINE - height:.2f}" width="{width:.2f}" '
        f'height="{height:.2f}"><title>{said}</title></rect>'
    ]
    if bar.tick:
        middle = x + slot / 2
        parts.append(
            f'<text x="{middle:.2f}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{escape(bar.tick)}</text>"
        )
    return parts
