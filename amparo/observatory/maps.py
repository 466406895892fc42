"""Choropleth maps of the 11 provinces (and of districts where counts allow), as SVG.

Boundaries come from ``data/mz_provinces.geojson`` and ``data/mz_districts.geojson`` (see
``data/README.md`` for the source and licence; every map carries :data:`ATTRIBUTION`). Longitude and
latitude are projected with a simple equirectangular projection whose x axis is scaled by the
cosine of the country's middle latitude, then simplified (Douglas-Peucker in screen units, slivers
too small to see dropped) so that the page stays light on a slow link.

Each area is a ``<path id="<P-code>">``. Published values are shaded in up to five classes; zero is
the lightest shade; a suppressed area ("<5" or "x") is left white and hatched (lines clipped to the
area, which both browsers and fpdf2 understand), never shaded by its value. The caller shows the
same figures in a table beneath the map.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from amparo.lib.disclosure import DEFAULT_THRESHOLD, Cell
from amparo.observatory.charts import (
    FONT,
    HATCH,
    MUTED,
    TEXT,
    Chart,
    _fmt,
    _text,
    clean,
    hatched_rect,
    svg_document,
)

DATA = Path(__file__).resolve().parent / "data"
ATTRIBUTION = (
    "Administrative boundaries: Instituto Nacional de Estatística (INE), Mozambique, and UN OCHA ROSEA - "
    "Mozambique Subnational Administrative Boundaries (COD-AB, 2019), via HDX, CC BY 3.0 IGO. "
    "Simplified by the project."
)
PROVINCE_CODES = tuple(f"MZ{n:02d}" for n in range(1, 12))
# Sequential blues (ColorBrewer "Blues"), lightest for zero.
SHADES = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
ZERO_SHADE = "#f7f7f7"
MAP_WIDTH = 340.0
LEGEND_HEIGHT = 118.0

Point = tuple[float, float]
_ids = itertools.count(1)


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    parent: str
    rings: tuple[tuple[Point, ...], ...]  # projected, simplified, closed implicitly


def _rings(geometry: Mapping) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    raise ValueError(f"unexpected geometry type {geometry['type']}")


def _simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative (rings have thousands of points; no recursion limit to hit)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    tol2 = tolerance * tolerance
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = dx * dx + dy * dy
        worst, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                d2 = (px - x1) ** 2 + (py - y1) ** 2
            else:
                cross = dx * (py - y1) - dy * (px - x1)
                d2 = cross * cross / norm
            if d2 > worst:
                worst, index = d2, i
        if index > 0 and worst > tol2:
            keep[index] = True
            stack.extend([(first, index), (index, last)])
    return [p for p, k in zip(points, keep, strict=True) if k]


def _area(ring: Sequence[Point]) -> float:
    return (
        abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))) / 2
    )


@cache
def _load(level: str, tolerance: float) -> tuple[tuple[Area, ...], float, float]:
    """Areas of ``level`` ("province" or "district") projected to a MAP_WIDTH-wide canvas."""
    name = "mz_provinces.geojson" if level == "province" else "mz_districts.geojson"
    features = json.loads((DATA / name).read_text(encoding="utf-8"))["features"]
    lons, lats = [], []
    for feature in features:
        for ring in _rings(feature["geometry"]):
            for lon, lat in ring:
                lons.append(lon)
                lats.append(lat)
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    kx = math.cos(math.radians((north + south) / 2))
    scale = (MAP_WIDTH - 4) / ((east - west) * kx)
    height = (north - south) * scale + 4

    def project(lon: float, lat: float) -> Point:
        return (2 + (lon - west) * kx * scale, 2 + (north - lat) * scale)

    areas = []
    for feature in features:
        props = feature["properties"]
        rings = []
        for ring in _rings(feature["geometry"]):
            projected = [project(lon, lat) for lon, lat in ring[:-1]]
            simple = _simplify(projected + projected[:1], tolerance)[:-1]
            if len(simple) >= 3 and _area(simple) >= 1.5:
                rings.append(tuple(simple))
        if not rings:  # never lose an area altogether: keep its biggest ring unsimplified
            biggest = max(_rings(feature["geometry"]), key=len)
            rings.append(tuple(project(lon, lat) for lon, lat in biggest[:-1]))
        areas.append(Area(props["code"], props["name"], props.get("parent_code", "MZ"), tuple(rings)))
    areas.sort(key=lambda a: a.code)
    return tuple(areas), MAP_WIDTH, height


def areas(level: str = "province") -> tuple[Area, ...]:
    return _load(level, 0.6 if level == "province" else 0.7)[0]


def _path(area: Area) -> str:
    return " ".join("M" + " ".join(f"{_fmt(x)} {_fmt(y)}" for x, y in ring) + "Z" for ring in area.rings)


def classes(values: Sequence[int], n: int = 5) -> list[int]:
    """Upper bounds of up to ``n`` classes of the published positive values (quantiles, distinct)."""
    positive = sorted(v for v in values if v > 0)
    if not positive:
        return []
    bounds = []
    for i in range(1, n + 1):
        bound = positive[min(len(positive) - 1, math.ceil(i * len(positive) / n) - 1)]
        if not bounds or bound > bounds[-1]:
            bounds.append(bound)
    return bounds


def _shade(value: int, bounds: Sequence[int]) -> str:
    if value <= 0 or not bounds:
        return ZERO_SHADE
    for i, bound in enumerate(bounds):
        if value <= bound:
            return SHADES[min(i + 1, len(SHADES) - 1)]
    return SHADES[-1]


def _hatched_area(d: str, bbox: tuple[float, float, float, float], uid: int, code: str) -> str:
    x0, y0, x1, y1 = bbox
    clip = f"clip-{code}-{uid}"
    lines = []
    step = 4.0
    c = x0 - (y1 - y0)
    while c < x1:
        lines.append(
            f'<line x1="{_fmt(c)}" y1="{_fmt(y1)}" x2="{_fmt(c + (y1 - y0))}" y2="{_fmt(y0)}" '
            f'stroke="{HATCH}" stroke-width="0.7"/>'
        )
        c += step
    return (
        f'<defs><clipPath id="{clip}"><path d="{d}"/></clipPath></defs>'
        f'<g clip-path="url(#{clip})">{"".join(lines)}</g>'
    )


def _bbox(area: Area) -> tuple[float, float, float, float]:
    xs = [x for ring in area.rings for x, _ in ring]
    ys = [y for ring in area.rings for _, y in ring]
    return min(xs), min(ys), max(xs), max(ys)


def choropleth(
    title: str,
    values: Mapping[str, Cell],
    *,
    level: str = "province",
    legend: Mapping[str, str] | None = None,
    outline_provinces: bool = True,
) -> Chart:
    """A choropleth of ``values`` (area code -> Cell). Areas missing from ``values`` are drawn empty.

    ``legend`` holds the translated legend words: ``zero``, ``suppressed``, ``no_data`` and
    ``range`` (a template with ``{low}`` and ``{high}``), and ``others`` (the text alternative's
    closing words for the areas with nothing to report).
    """
    words = {
        "zero": "0",
        "suppressed": "<5 or x: withheld",
        "no_data": "No figure",
        "range": "{low} to {high}",
        "others": "Every other area: 0 or no figure",
        **(legend or {}),
    }
    shapes, width, map_height = _load(level, 0.6 if level == "province" else 0.7)
    uid = next(_ids)
    published = [c.value for c in values.values() if not c.suppressed]
    bounds = classes(published)
    parts: list[str] = []
    lines: list[str] = []
    for area in shapes:
        d = _path(area)
        cell = values.get(area.code)
        if cell is None:
            fill, label = "#ffffff", words["no_data"]
        elif cell.suppressed:
            fill, label = "#ffffff", cell.display()
        else:
            fill, label = _shade(cell.value, bounds), cell.display()
        parts.append(
            f'<path id="{area.code}" d="{d}" fill="{fill}" stroke="{MUTED}" stroke-width="0.5">'
            f"<title>{clean(area.name)}: {clean(label)}</title></path>"
        )
        if cell is not None and cell.suppressed:
            parts.append(_hatched_area(d, _bbox(area), uid, area.code))
        if cell is not None and (cell.suppressed or cell.value):
            lines.append(f"{area.name}: {label}")
    if level == "district" and outline_provinces:
        for area in areas("province"):
            parts.append(f'<path d="{_path(area)}" fill="none" stroke="{TEXT}" stroke-width="0.8"/>')

    # Legend, below the map so that it stays readable at phone width.
    y = map_height + 8
    entries: list[tuple[str, str]] = [(ZERO_SHADE, words["zero"])]
    low = DEFAULT_THRESHOLD  # a published count above zero is never below the threshold
    for i, bound in enumerate(bounds):
        text = str(bound) if low >= bound else words["range"].format(low=low, high=bound)
        entries.append((SHADES[min(i + 1, len(SHADES) - 1)], text))
        low = bound + 1
    for i, (fill, text) in enumerate(entries):
        x = 4 + (i % 3) * (width / 3)
        yy = y + (i // 3) * 18
        parts.append(
            f'<rect x="{_fmt(x)}" y="{_fmt(yy)}" width="12" height="12" fill="{fill}" stroke="{MUTED}" stroke-width="0.5"/>'
        )
        parts.append(_text(x + 16, yy + 10, text, size=10))
    ly = y + (-(-len(entries) // 3)) * 18

    parts.append(hatched_rect(4, ly, 12, 12, spacing=3))
    parts.append(_text(20, ly + 10, words["suppressed"], size=10))
    parts.append(
        f'<text x="4" y="{_fmt(ly + 30)}" font-size="6.5" fill="{MUTED}" {FONT}>{escape(ATTRIBUTION[:110])}</text>'
        f'<text x="4" y="{_fmt(ly + 39)}" font-size="6.5" fill="{MUTED}" {FONT}>{escape(ATTRIBUTION[110:])}</text>'
    )
    height = ly + 46
    shown = {code for code, cell in values.items() if cell.suppressed or cell.value}
    if len(shown) < len(shapes):
        lines.append(words["others"])
    desc = "; ".join(lines)
    return Chart(svg_document("".join(parts), width, height, title, desc, css_class="chart map"), desc)
