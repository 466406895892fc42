"""Server-rendered SVG charts: bars by category, a time series, stacked bars and the attrition funnel.

Every chart draws only what disclosure control lets us publish: it takes
:class:`amparo.lib.disclosure.Cell` values and uses ``Cell.published`` for lengths and
``Cell.display()`` for labels. A suppressed cell ("<5" or the complement marker "x") is drawn as an
empty, hatched bar of a fixed size carrying its marker, so its length says nothing about its value.

The SVG is self-contained (no script, no external reference, no ``style`` attribute: the page's CSP
forbids inline styles), scales to the width of a phone through its ``viewBox``, carries
``role="img"``, an ``aria-label``, ``<title>`` and ``<desc>``, and is understood by fpdf2's SVG
renderer (hatching is drawn as clipped lines, not an SVG ``<pattern>``, which fpdf2 ignores). Every
chart is shown with its table beneath it: the chart is never the only way to read a figure.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from amparo.lib.disclosure import Cell, safe_rate

WIDTH = 360  # viewBox width: one column on a phone, scaled up on wider screens
FONT = 'font-family="Helvetica, Arial, sans-serif"'
TEXT = "#1d2329"
MUTED = "#5b6670"
AXIS = "#8a949c"
HATCH = "#5b6670"
# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
SUPPRESSED_WIDTH = 16.0

_ids = itertools.count(1)


@dataclass(frozen=True)
class Chart:
    """An SVG chart and the plain-text sentence that says the same thing."""

    svg: str
    text: str

    def __str__(self) -> str:
        return self.svg


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean(text: str) -> str:
    """Escaped text without the control characters XML 1.0 cannot hold."""
    return escape(_NOT_XML.sub("", str(text)))


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(
    x: float, y: float, content: str, *, size: int = 11, anchor: str = "start", fill: str = TEXT
) -> str:
    return (
        f'<text x="{_fmt(x)}" y="{_fmt(y)}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" {FONT}>'
        f"{clean(content)}</text>"
    )


def _rect(x: float, y: float, w: float, h: float, fill: str) -> str:
    return f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(w)}" height="{_fmt(h)}" fill="{fill}"/>'


def hatched_rect(x: float, y: float, w: float, h: float, spacing: float = 4.0) -> str:
    """An empty box with diagonal hatching, drawn as line segments clipped to the box by hand."""
    parts = [
        f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(w)}" height="{_fmt(h)}" fill="#ffffff" '
        f'stroke="{HATCH}" stroke-width="1" stroke-dasharray="2 1"/>'
    ]
    d = -h
    while d < w:
        t0, t1 = max(0.0, -d), min(h, w - d)
        if t0 < t1:
            parts.append(
                f'<line x1="{_fmt(x + d + t0)}" y1="{_fmt(y + h - t0)}" x2="{_fmt(x + d + t1)}" '
                f'y2="{_fmt(y + h - t1)}" stroke="{HATCH}" stroke-width="0.8"/>'
            )
        d += spacing
    return "".join(parts)


def svg_document(
    body: str, width: float, height: float, title: str, desc: str, *, css_class: str = "chart"
) -> str:
    """Wrap drawing commands in an accessible, self-contained SVG element."""
    uid = next(_ids)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" '
        f'width="{_fmt(width)}" height="{_fmt(height)}" role="img" aria-label={quoteattr(_NOT_XML.sub("", title))} '
        f'aria-describedby="chart-desc-{uid}">'
        f'<title>{clean(title)}</title><desc id="chart-desc-{uid}">{clean(desc)}</desc>'
        f"{body}</svg>"
    )


def _scale(cells: Sequence[Cell]) -> int:
    return max([c.published or 0 for c in cells] + [1])


def _describe(rows: Sequence[tuple[str, Cell]]) -> str:
    return "; ".join(f"{label}: {cell.display()}" for label, cell in rows)


def bars(title: str, rows: Sequence[tuple[str, Cell]], *, empty: str = "") -> Chart:
    """Horizontal bars, one per category, the label above its bar (long labels fit a phone)."""
    rows = list(rows)
    desc = _describe(rows) or empty
    top, row_h, bar_h, left, right = 6.0, 34.0, 14.0, 4.0, 60.0
    span = WIDTH - left - right
    biggest = _scale([c for _, c in rows])
    parts: list[str] = []
    for i, (label, cell) in enumerate(rows):
        y = top + i * row_h
        parts.append(_text(left, y + 11, label, size=11))
        by = y + 15
        if cell.suppressed:
            parts.append(hatched_rect(left, by, SUPPRESSED_WIDTH, bar_h))
            end = left + SUPPRESSED_WIDTH
        else:
            w = span * cell.value / biggest
            if w > 0:
                parts.append(_rect(left, by, max(w, 1.0), bar_h, PALETTE[0]))
            end = left + w
        parts.append(_text(end + 4, by + 11, cell.display(), size=11, fill=TEXT))
    if not rows:
        parts.append(_text(left, top + 14, empty or title, fill=MUTED))
    height = top + max(len(rows), 1) * row_h + 4
    return Chart(svg_document("".join(parts), WIDTH, height, title, desc), desc)


def time_series(title: str, points: Sequence[tuple[str, Cell]], *, empty: str = "") -> Chart:
    """Columns over time, oldest first; a suppressed period is a hatched stub with its marker."""
    points = list(points)
    desc = _describe(points) or empty
    left, right, top, plot_h, bottom = 34.0, 6.0, 16.0, 130.0, 34.0
    height = top + plot_h + bottom
    span = WIDTH - left - right
    n = max(len(points), 1)
    slot = span / n
    bar_w = max(min(slot * 0.7, 40.0), 3.0)
    biggest = _scale([c for _, c in points])
    base = top + plot_h
    parts = [
        f'<line x1="{_fmt(left)}" y1="{_fmt(base)}" x2="{_fmt(WIDTH - right)}" y2="{_fmt(base)}" stroke="{AXIS}"/>',
        # The axis names the largest published value (never a withheld one), when there is one.
        _text(left - 3, top + 4, str(biggest) if biggest > 1 else "", size=9, anchor="end", fill=MUTED),
        _text(left - 3, base, "0", size=9, anchor="end", fill=MUTED),
        f'<line x1="{_fmt(left)}" y1="{_fmt(top)}" x2="{_fmt(WIDTH - right)}" y2="{_fmt(top)}" '
        f'stroke="#e1e5e8" stroke-dasharray="2 2"/>',
    ]
    every = max(1, -(-n // 6))  # at most six period labels, so they stay legible on a phone
    for i, (label, cell) in enumerate(points):
        x = left + i * slot + (slot - bar_w) / 2
        cx = x + bar_w / 2
        if cell.suppressed:
            parts.append(hatched_rect(x, base - SUPPRESSED_WIDTH, bar_w, SUPPRESSED_WIDTH))
            parts.append(_text(cx, base - SUPPRESSED_WIDTH - 3, cell.display(), size=9, anchor="middle"))
        else:
            h = plot_h * cell.value / biggest
            if h > 0:
                parts.append(_rect(x, base - h, bar_w, max(h, 1.0), PALETTE[0]))
            if n <= 12:
                parts.append(_text(cx, base - h - 3, cell.display(), size=9, anchor="middle"))
        if (n - 1 - i) % every == 0:  # counted from the newest, which is always labelled
            parts.append(_text(cx, base + 14, label, size=9, anchor="middle", fill=MUTED))
    if not points:
        parts.append(_text(left, top + 30, empty or title, fill=MUTED))
    return Chart(svg_document("".join(parts), WIDTH, height, title, desc), desc)


def stacked_bars(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[Cell]]], *, empty: str = ""
) -> Chart:
    """One horizontal bar per category, stacked by series, with a legend.

    Only published segments are stacked; the suppressed segments of a bar are summed up in one
    hatched box at its end that carries their markers, so no suppressed value shapes any length.
    """
    categories = list(categories)
    series = [(name, list(cells)) for name, cells in series]
    legend_rows = -(-len(series) // 2)
    top = 6.0 + legend_rows * 16.0
    row_h, bar_h, left, right = 34.0, 14.0, 4.0, 56.0
    span = WIDTH - left - right
    totals = [sum(cells[i].published or 0 for _, cells in series) for i in range(len(categories))]
    biggest = max(totals + [1])
    parts: list[str] = []
    for j, (name, _) in enumerate(series):
        lx, ly = 4.0 + (j % 2) * (WIDTH / 2), 6.0 + (j // 2) * 16.0
        parts.append(_rect(lx, ly, 10, 10, PALETTE[j % len(PALETTE)]))
        parts.append(_text(lx + 14, ly + 9, name, size=10))
    lines = []
    for i, category in enumerate(categories):
        y = top + i * row_h
        parts.append(_text(left, y + 11, category, size=11))
        by, x = y + 15, left
        hidden = []
        for j, (_name, cells) in enumerate(series):
            cell = cells[i]
            if cell.suppressed:
                hidden.append(cell.display())
            elif cell.value:
                w = span * cell.value / biggest
                parts.append(_rect(x, by, max(w, 0.5), bar_h, PALETTE[j % len(PALETTE)]))
                x += w
        if hidden:
            parts.append(hatched_rect(x + 2, by, SUPPRESSED_WIDTH, bar_h))
            x += SUPPRESSED_WIDTH + 2
        parts.append(_text(x + 4, by + 11, " ".join(hidden), size=10))
        shown = ", ".join(f"{name} {cells[i].display()}" for name, cells in series)
        lines.append(f"{category}: {shown}")
    if not categories:
        parts.append(_text(left, top + 14, empty or title, fill=MUTED))
    desc = "; ".join(lines) or empty
    height = top + max(len(categories), 1) * row_h + 4
    return Chart(svg_document("".join(parts), WIDTH, height, title, desc), desc)


def funnel(
    title: str, stages: Sequence[tuple[str, Cell]], *, empty: str = "", kept: str = "{rate}%"
) -> Chart:
    """The attrition funnel: one centred bar per stage, with the share kept from the stage before.

    The share is shown only when both stages are published (``safe_rate``); ``kept`` is the
    translated template for it, with a ``{rate}`` placeholder.
    """
    stages = list(stages)
    desc = _describe(stages) or empty
    top, row_h, bar_h = 6.0, 40.0, 16.0
    span = WIDTH - 8.0
    biggest = _scale([c for _, c in stages])
    parts: list[str] = []
    previous: Cell | None = None
    for i, (label, cell) in enumerate(stages):
        y = top + i * row_h
        share = ""
        if previous is not None and not previous.suppressed and previous.value:
            rate = safe_rate(cell, previous)
            if rate is not None:
                share = "  " + kept.format(rate=f"{rate:.0f}")
        parts.append(_text(4, y + 11, f"{label}: {cell.display()}{share}", size=11))
        by = y + 16
        if cell.suppressed:
            parts.append(hatched_rect(WIDTH / 2 - SUPPRESSED_WIDTH, by, 2 * SUPPRESSED_WIDTH, bar_h))
        else:
            w = span * cell.value / biggest
            if w > 0:
                parts.append(_rect(WIDTH / 2 - w / 2, by, max(w, 1.0), bar_h, PALETTE[2]))
        previous = cell
    if not stages:
        parts.append(_text(4, top + 14, empty or title, fill=MUTED))
    height = top + max(len(stages), 1) * row_h + 4
    return Chart(svg_document("".join(parts), WIDTH, height, title, desc), desc)
