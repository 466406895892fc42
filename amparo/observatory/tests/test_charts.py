"""Charts are valid, self-contained, accessible SVG, and never draw a withheld value as a number."""

from __future__ import annotations

import re

import defusedxml.ElementTree as ET
from hypothesis import given
from hypothesis import strategies as st

from amparo.lib.disclosure import Cell, suppress_1d
from amparo.observatory import charts

SVG = "{http://www.w3.org/2000/svg}"


def _cells(counts: dict[str, int]) -> list[tuple[str, Cell]]:
    table = suppress_1d(counts)
    return [(key, table.cells[key]) for key in counts]


def _check_svg(chart: charts.Chart) -> ET.Element:
    root = ET.fromstring(chart.svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}title").text
    assert root.find(f"{SVG}desc") is not None
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox"))
    for element in root.iter():
        assert element.tag != f"{SVG}script"
        assert element.tag != f"{SVG}foreignObject"
        assert "style" not in element.attrib  # the page's CSP forbids inline styles
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            if name.endswith("href"):
                assert value.startswith("#"), value
            assert "http" not in value or name == "xmlns", (name, value)
    return root


def _texts(root: ET.Element) -> list[str]:
    return [(t.text or "").strip() for t in root.iter(f"{SVG}text")]


def test_bar_chart_is_valid_svg_and_marks_small_counts_without_numbers():
    counts = {"Grooming": 40, "Sextortion": 3, "Live-streaming": 12, "Other": 0}
    chart = charts.bars("Cases by form", _cells(counts))
    root = _check_svg(chart)
    texts = _texts(root)
    assert "<5" in texts
    assert "3" not in texts
    assert "<5" in chart.text
    assert "3" not in re.findall(r"\d+", chart.text)


def test_a_suppressed_bar_has_the_same_size_whatever_it_hides():
    small = charts.bars("t", [("a", Cell(1, True, True)), ("b", Cell(50, False, False))]).svg
    larger = charts.bars("t", [("a", Cell(4, True, True)), ("b", Cell(50, False, False))]).svg
    complement = charts.bars("t", [("a", Cell(44, True, False)), ("b", Cell(50, False, False))]).svg
    strip = re.compile(r'id="chart-desc-\d+"|aria-describedby="chart-desc-\d+"')
    assert strip.sub("", small) == strip.sub("", larger)
    assert strip.sub("", complement) == strip.sub("", small).replace("&lt;5", "x")


def test_time_series_funnel_and_stacked_bars_are_valid_svg():
    months = _cells(
        {
            f"2026-{m:02d}": v
            for m, v in zip(range(1, 13), [0, 2, 9, 14, 30, 7, 1, 8, 21, 5, 6, 11], strict=True)
        }
    )
    _check_svg(charts.time_series("Reports", months))
    stages = [
        ("Report", Cell(120, False, False)),
        ("Investigation", Cell(40, False, False)),
        ("Court", Cell(3, True, True)),
    ]
    root = _check_svg(charts.funnel("Funnel", stages, kept="{rate}% kept"))
    assert any("33% kept" in t for t in _texts(root))
    assert not any("Court" in t and "%" in t for t in _texts(root))  # no share for a withheld stage
    stacked = charts.stacked_bars(
        "By channel",
        ["Sep", "Oct"],
        [
            ("Web", [Cell(9, False, False), Cell(2, True, True)]),
            ("SMS", [Cell(12, False, False), Cell(30, True, False)]),
        ],
    )
    root = _check_svg(stacked)
    assert "2" not in _texts(root)
    assert "30" not in " ".join(_texts(root))


def test_empty_charts_say_so():
    chart = charts.bars("Nothing", [], empty="No figures for this period.")
    assert "No figures for this period." in _texts(_check_svg(chart))


def test_labels_are_escaped():
    chart = charts.bars("<script>alert(1)</script>", [("<b>&", Cell(10, False, False))])
    root = _check_svg(chart)
    assert "<b>&" in _texts(root)[0]


LABELS = st.text(alphabet=st.characters(exclude_categories=("Nd", "Cs")), min_size=1, max_size=20)


@given(st.dictionaries(LABELS, st.integers(0, 200), min_size=1, max_size=15))
def test_no_chart_ever_shows_a_count_from_one_to_four(counts):
    rows = _cells(counts)
    for chart in (charts.bars("t", rows), charts.time_series("t", rows), charts.funnel("t", rows)):
        root = _check_svg(chart)  # also: any label, control characters included, gives valid XML
        for text in _texts(root):
            assert not re.search(r"(?<![\d.<])[1-4](?![\d.%])", text), (text, counts)
