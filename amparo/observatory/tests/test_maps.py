"""The map: 11 provinces with their P-codes as ids, hatched when withheld, with a legend, light."""

from __future__ import annotations

import io

import defusedxml.ElementTree as ET
from fpdf import FPDF

from amparo.lib.disclosure import suppress_1d
from amparo.observatory import bulletin, maps

SVG = "{http://www.w3.org/2000/svg}"
COUNTS = dict(zip(maps.PROVINCE_CODES, [0, 3, 12, 40, 7, 150, 90, 2, 33, 15, 60], strict=True))


def _map(level: str = "province", counts: dict | None = None) -> maps.Chart:
    table = suppress_1d(counts or COUNTS)
    return maps.choropleth("Reports by province", table.cells, level=level)


def test_the_map_has_the_eleven_provinces_by_p_code():
    root = ET.fromstring(_map().svg)
    ids = {p.get("id") for p in root.iter(f"{SVG}path") if p.get("id")}
    assert ids == set(maps.PROVINCE_CODES)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text


def test_withheld_provinces_are_hatched_and_never_shaded_by_value():
    root = ET.fromstring(_map().svg)
    paths = {p.get("id"): p for p in root.iter(f"{SVG}path") if p.get("id")}
    assert paths["MZ02"].get("fill") == "#ffffff"  # Gaza: 3, "<5"
    assert paths["MZ08"].get("fill") == "#ffffff"  # Niassa: 2
    clips = {c.get("id").split("-")[1] for c in root.iter(f"{SVG}clipPath")}
    assert {"MZ02", "MZ08"} <= clips
    assert paths["MZ06"].get("fill") == maps.SHADES[-1]  # the largest value, darkest
    assert paths["MZ01"].get("fill") == maps.ZERO_SHADE
    titles = {p.get("id"): p.find(f"{SVG}title").text for p in paths.values()}
    assert titles["MZ02"].endswith("<5")


def test_the_map_has_a_legend_and_the_boundary_attribution():
    svg = _map().svg
    assert "withheld" in svg
    assert "CC BY 3.0 IGO" in svg


def test_the_district_map_draws_every_district_with_its_code():
    table = suppress_1d({a.code: 10 for a in maps.areas("district")})
    root = ET.fromstring(maps.choropleth("Districts", table.cells, level="district").svg)
    ids = {p.get("id") for p in root.iter(f"{SVG}path") if p.get("id")}
    assert len(ids) == 156
    assert "MZ0601" in ids


def test_maps_stay_light_for_a_slow_link():
    assert len(_map().svg.encode()) < 45_000
    district = maps.choropleth("d", {}, level="district")
    assert len(district.svg.encode()) < 110_000


def test_simplification_keeps_the_shape_of_a_ring():
    square = [(0.0, 0.0), (5.0, 0.01), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)]
    assert maps._simplify(square, 0.5) == [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)]


def test_the_map_renders_in_fpdf():
    data, ratio = bulletin.svg_for_pdf(_map().svg)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(data), w=80)
    assert bytes(pdf.output()).startswith(b"%PDF")
    assert 1.2 < ratio < 2.2


def test_classes_are_distinct_and_cover_the_values():
    assert maps.classes([0, 5, 5, 5, 9, 30, 100]) == [5, 9, 30, 100]
    assert maps.classes([0, 0]) == []
