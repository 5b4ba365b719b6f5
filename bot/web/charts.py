"""Small server-rendered SVG charts for the dashboard: a line chart and a bar chart.

No script and nothing fetched: each chart is one ``<svg role="img">`` named by its
``<title>``, with axes and labels already formatted by the caller (in the reader's
language and digits). Right-to-left pages get mirrored charts: time runs from right to
left, bars grow from the right, the value axis stands on the right. The numbers are
always also in a table beside the chart (the page's job), for screen readers and for
anyone who wants the exact figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
LINE_HEIGHT = 260
BAR_ROW = 26
SERIES_MAX = 6  # the palette's colours (stats.css: .series-0 … .series-5)
X_LABELS_MAX = 7


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name and a value per x label."""

    name: str
    values: tuple[float, ...]


def nice_ceiling(top: float) -> tuple[float, float]:
    """An axis top at or above ``top`` and its tick step (1, 2 or 5 times a power of 10;
    at most 5 steps; at least 1)."""
    if top <= 0:
        return 1.0, 1.0
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    return step * math.ceil(top / step), step


class _Frame:
    """Plot coordinates, mirrored for right-to-left."""

    def __init__(self, *, left: float, right: float, rtl: bool) -> None:
        self.left, self.right, self.rtl = left, right, rtl

    def x(self, ltr_x: float) -> float:
        return WIDTH - ltr_x if self.rtl else ltr_x

    def anchor(self, ltr_anchor: str) -> str:
        if not self.rtl or ltr_anchor == "middle":
            return ltr_anchor
        return "start" if ltr_anchor == "end" else "end"


def _svg(chart_id: str, title: str, height: float, body: list[str]) -> Markup:
    safe_id = escape(chart_id)
    return Markup(  # noqa: S704 - every text in it went through html.escape
        f'<svg class="chart" id="{safe_id}" role="img" aria-labelledby="{safe_id}-title" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" height="{height:.0f}" '
        f'xmlns="http://www.w3.org/2000/svg" direction="ltr">'
        f'<title id="{safe_id}-title">{escape(title)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str, cls: str = "label") -> str:
    return (
        f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    tick: Callable[[float], str],
    rtl: bool = False,
) -> Markup:
    """Lines over ``labels`` (the x axis, in order of time), one per series (at most
    :data:`SERIES_MAX`), with a legend when there are several; ``tick`` formats a value."""
    shown = list(series)[:SERIES_MAX]
    legend_rows = math.ceil(len(shown) / 3) if len(shown) > 1 else 0
    top_pad, bottom = 12.0, 36.0 + 20 * legend_rows
    height = LINE_HEIGHT + 20 * legend_rows
    frame = _Frame(left=56, right=WIDTH - 16, rtl=rtl)
    plot_bottom = height - bottom
    top, step = nice_ceiling(max((v for s in shown for v in s.values), default=0))
    count = max(len(labels), 1)

    def px(index: int) -> float:
        span = frame.right - frame.left
        return frame.x(frame.left + (span * index / (count - 1) if count > 1 else span / 2))

    def py(value: float) -> float:
        return plot_bottom - (plot_bottom - top_pad) * value / top

    body: list[str] = []
    value = 0.0
    while value <= top + 1e-9:  # the value axis: gridlines and ticks
        y = py(value)
        body.append(
            f'<line class="grid" x1="{frame.x(frame.left):.1f}" y1="{y:.1f}" '
            f'x2="{frame.x(frame.right):.1f}" y2="{y:.1f}"/>'
        )
        body.append(_text(frame.x(frame.left - 6), y + 4, tick(value), frame.anchor("end")))
        value += step
    body.append(
        f'<line class="axis" x1="{frame.x(frame.left):.1f}" y1="{plot_bottom:.1f}" '
        f'x2="{frame.x(frame.right):.1f}" y2="{plot_bottom:.1f}"/>'
    )
    for index in _marks(len(labels)):
        # The first and last labels end at the plot's edges: none is cut off.
        edge = "start" if index == 0 else "end" if index == count - 1 else "middle"
        anchor = frame.anchor(edge) if count > 1 else "middle"
        body.append(_text(px(index), plot_bottom + 18, labels[index], anchor))
    for number, line in enumerate(shown):
        points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(line.values))
        body.append(f'<g class="series series-{number}"><title>{escape(line.name)}</title>')
        body.append(f'<polyline fill="none" points="{points}"/>')
        if count <= 31:  # a point each, named (a pointer shows it)
            body.extend(
                f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3">'
                f"<title>{escape(line.name)}, {escape(labels[i])}: {escape(tick(v))}</title>"
                "</circle>"
                for i, v in enumerate(line.values)
            )
        body.append("</g>")
    for number, line in enumerate(shown if legend_rows else []):
        column, row = number % 3, number // 3
        x0 = frame.left + column * (frame.right - frame.left) / 3
        y0 = plot_bottom + 40 + row * 20
        body.append(
            f'<g class="legend series series-{number}">'
            f'<line x1="{frame.x(x0):.1f}" y1="{y0 - 4:.1f}" x2="{frame.x(x0 + 18):.1f}" '
            f'y2="{y0 - 4:.1f}"/>'
            f"{_text(frame.x(x0 + 24), y0, line.name, frame.anchor('start'))}</g>"
        )
    return _svg(chart_id, title, height, body)


def _marks(count: int) -> list[int]:
    """Which of ``count`` x labels to write (at most about :data:`X_LABELS_MAX`): evenly
    spaced, the first and the last always."""
    if count == 0:
        return []
    every = max(1, math.ceil(count / X_LABELS_MAX))
    marks = list(range(0, count, every))
    if marks[-1] != count - 1:
        if count - 1 - marks[-1] < every / 2 and len(marks) > 1:
            marks[-1] = count - 1  # too close to the last: make room for it
        else:
            marks.append(count - 1)
    return marks


def bar_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    value_labels: Sequence[str],
    rtl: bool = False,
) -> Markup:
    """Horizontal bars, one per label, each with its value written at its end."""
    frame = _Frame(left=200, right=WIDTH - 64, rtl=rtl)
    height = 16 + BAR_ROW * max(len(labels), 1)
    top = max(values, default=0) or 1
    body: list[str] = [
        f'<line class="axis" x1="{frame.x(frame.left):.1f}" y1="8" '
        f'x2="{frame.x(frame.left):.1f}" y2="{height - 8:.1f}"/>'
    ]
    for row, (label, value, shown) in enumerate(zip(labels, values, value_labels, strict=True)):
        y = 8 + row * BAR_ROW
        length = (frame.right - frame.left) * value / top
        x_start, x_end = frame.x(frame.left), frame.x(frame.left + length)
        body.append(_text(frame.x(frame.left - 8), y + 17, label, frame.anchor("end")))
        body.append(
            f'<rect class="bar" x="{min(x_start, x_end):.1f}" y="{y + 4:.1f}" '
            f'width="{abs(x_end - x_start):.1f}" height="{BAR_ROW - 8}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
        )
        body.append(
            _text(frame.x(frame.left + length + 6), y + 17, shown, frame.anchor("start"), "value")
        )
    return _svg(chart_id, title, height, body)
