"""The monthly bulletin: a PDF in Portuguese or English with the headline figures, the province map
and the charts of the dashboard, each with its figures beside it.

The figures are those of :func:`amparo.observatory.figures.figures` (already protected: only
``Cell.display()`` values and permitted rates reach the page). Its prose, indicator names,
categories and month names all come through Django's translations under ``translation.override``.

fpdf2's core fonts are latin-1: every string passes through :func:`amparo.lib.pdftext.latin1` (typographic dashes,
quotes and ellipses are replaced, anything else outside latin-1 becomes "?"). The SVG charts are
embedded with ``pdf.image``; their ``<title>`` and ``<desc>`` are dropped first (fpdf2 ignores them
noisily).
"""

from __future__ import annotations

import io
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext, override
from fpdf import FPDF

from amparo.core.models import Agency
from amparo.lib.pdftext import latin1
from amparo.observatory import compute

LANGUAGES = ("pt", "en")


def _text() -> dict[str, str]:
    """The bulletin's own sentences, in the active language (call under translation.override)."""
    return {
        "title": gettext("Monthly bulletin of the national OCSEA observatory"),
        "subtitle": gettext("Online child sexual exploitation and abuse (OCSEA) in Mozambique"),
        "scope_national": gettext("The whole country"),
        "scope_agency": gettext("Cases of {agency} only"),
        "period": gettext("Period: {period}"),
        "generated": gettext("Generated on {date} by the Amparo platform."),
        "as_of": gettext("Figures as of {when}."),
        "disclosure": gettext(
            'To protect children, counts from 1 to 4 are shown as "<5", and "x" hides a figure that would let a small count be worked out. Rates are not shown when their numerator is hidden.'
        ),
        "headline": gettext("Headline figures"),
        "map": gettext("Map of the provinces"),
        "figures": gettext("Figures"),
        "total": gettext("Total"),
        "none": gettext("No figures for this period."),
        # The same words as maps.ATTRIBUTION, spelled out so that they reach the catalogue.
        "attribution": gettext(
            "Administrative boundaries: Instituto Nacional de Estatística (INE), Mozambique, and UN OCHA ROSEA - "
            "Mozambique Subnational Administrative Boundaries (COD-AB, 2019), via HDX, CC BY 3.0 IGO. "
            "Simplified by the project."
        )
        + " "
        + gettext("The boundaries are for statistical display only."),
        "confidential": gettext("Aggregate statistics; no person can be identified."),
    }


_TITLE_DESC = re.compile(r"<title>.*?</title>|<desc[^>]*>.*?</desc>", re.DOTALL)
_VIEWBOX = re.compile(r'viewBox="0 0 ([\d.]+) ([\d.]+)"')


def svg_for_pdf(svg: str) -> tuple[bytes, float]:
    """The SVG without title/desc, latin-1 safe, and its height/width ratio."""
    cleaned = latin1(_TITLE_DESC.sub("", svg))
    match = _VIEWBOX.search(cleaned)
    ratio = float(match[2]) / float(match[1]) if match else 0.6
    return cleaned.encode("utf-8"), ratio


def last_complete_month(today: Any = None) -> compute.Period:
    today = today or timezone.localdate()
    return compute.Period.containing("month", today).previous()


class _Bulletin(FPDF):
    def __init__(self, words: dict[str, str], period_label: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.words = words
        self.period_label = period_label
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(15, 15, 15)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 7)
        self.set_text_color(90, 102, 112)
        self.cell(0, 5, latin1(f"Amparo - {self.words['confidential']} - {self.period_label}"), align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.set_text_color(21, 62, 92)
    pdf.multi_cell(0, 6, latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(29, 35, 41)


def _para(pdf: FPDF, text: str, size: float = 9, style: str = "") -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.multi_cell(0, size * 0.5, latin1(text), new_x="LMARGIN", new_y="NEXT")


def _figure(pdf: FPDF, section: Any, words: dict[str, str], width: float = 95.0) -> None:
    """A section: heading, the chart on the left and its figures as lines on the right."""
    rows = [(r.label, r.value, r.rate) for r in section.rows]
    if section.total:
        rows.append((words["total"], section.total, ""))
    chart_h = 0.0
    data = b""
    if section.chart is not None:
        data, ratio = svg_for_pdf(section.chart.svg)
        chart_h = width * ratio
    block = max(chart_h, 4.2 * len(rows)) + 12
    if pdf.get_y() + block > pdf.h - pdf.b_margin:
        pdf.add_page()
    _heading(pdf, section.title)
    top = pdf.get_y()
    if data:
        pdf.image(io.BytesIO(data), x=pdf.l_margin, y=top, w=width)
    x = pdf.l_margin + (width + 5 if data else 0)
    pdf.set_xy(x, top)
    pdf.set_font("Helvetica", "", 8)
    if not rows:
        pdf.multi_cell(0, 4, latin1(section.note or words["none"]), new_x="LMARGIN", new_y="NEXT")
    for label, value, rate in rows:
        pdf.set_x(x)
        suffix = f" ({rate})" if rate else ""
        pdf.multi_cell(0, 4.2, latin1(f"{label}: {value}{suffix}"), new_x="LMARGIN", new_y="NEXT")
    end = max(pdf.get_y(), top + chart_h)
    if section.note and rows:
        pdf.set_xy(pdf.l_margin, end + 1)
        _para(pdf, section.note, size=7.5, style="I")
        end = pdf.get_y()
    pdf.set_y(end + 3)


def render(period: compute.Period, *, lang: str = "pt", agency: Agency | None = None) -> bytes:
    """The bulletin for one month, as PDF bytes."""
    from amparo.observatory.figures import figures

    if lang not in LANGUAGES:
        raise ValueError(f"The bulletin is written in {', '.join(LANGUAGES)}; choose one of them.")
    with override(lang):
        words = _text()
        data = figures(period, agency)
        label = period.label()
        pdf = _Bulletin(words, latin1(label))
        pdf.set_title(latin1(f"{words['title']} - {label}"))
        pdf.set_author("Amparo")
        pdf.set_lang(lang)
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.set_text_color(21, 62, 92)
        pdf.multi_cell(0, 8, latin1(words["title"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(29, 35, 41)
        _para(pdf, words["subtitle"], size=10)
        scope = words["scope_agency"].format(agency=agency.short_name) if agency else words["scope_national"]
        _para(pdf, f"{words['period'].format(period=label)} - {scope}", size=10, style="B")
        _para(pdf, words["generated"].format(date=timezone.localdate().isoformat()), size=8)
        when = timezone.localtime(data.as_of or timezone.now())
        _para(pdf, words["as_of"].format(when=when.strftime("%Y-%m-%d %H:%M")), size=8)
        pdf.ln(1)
        _para(pdf, words["disclosure"], size=8, style="I")

        _heading(pdf, words["headline"])
        pdf.set_font("Helvetica", "", 9)
        for name, value in data.headline:
            pdf.cell(120, 5.5, latin1(name), border="B")
            pdf.cell(0, 5.5, latin1(value), border="B", align="R", new_x="LMARGIN", new_y="NEXT")

        _figure(pdf, data.province_map, words, width=80)
        for section in data.sections:
            _figure(pdf, section, words)
        pdf.ln(2)
        _para(pdf, words["attribution"], size=7)
        return bytes(pdf.output())
