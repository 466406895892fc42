"""What the dashboard and the bulletin show: the figures for a period, as sections (a chart, its table,
its text alternative and download links) and headline numbers. Every figure comes from
:mod:`amparo.observatory.compute` through a snapshot reader, already passed through disclosure control;
this module only arranges what it is given. The pages (:mod:`amparo.observatory.views`), the bulletin
(:mod:`amparo.observatory.bulletin`) and the outreach pages present it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from amparo.core.models import Agency
from amparo.lib.disclosure import Cell, DisclosureError
from amparo.observatory import charts, maps, snapshots
from amparo.observatory import indicators as registry

REPORTS = "OCSEA.REPORTS.RECEIVED"
FORMS = "OCSEA.CASES.FORM"
PLATFORMS = "OCSEA.CASES.PLATFORM"
FUNNEL = "OCSEA.FUNNEL"


@dataclass
class Row:
    label: str
    value: str
    rate: str = ""


@dataclass
class Section:
    """One chart with its table, text alternative and download links."""

    key: str
    title: str
    chart: Any = None
    rows: list[Row] = field(default_factory=list)
    total: str = ""
    note: str = ""
    column: str = ""
    rate_header: str = ""
    downloads: list[tuple[str, str]] = field(default_factory=list)

    @property
    def svg(self) -> str:
        return mark_safe(self.chart.svg) if self.chart else ""  # noqa: S308  (built by charts/maps, escaped)


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"


def _label(row: Any, by: tuple[str, ...]) -> str:
    return " / ".join(str(row.label.get(d, row.key.get(d, ""))) for d in by) or _("Total")


SERIES_LENGTH = snapshots.SERIES_LENGTH
series_periods = snapshots.series_periods


LINKED_REPORTS = ((registry.CHANNEL,), (registry.PROVINCE,), (registry.DISTRICT,))


def export_links(code: str, period: Any, by: tuple[str, ...]) -> list[tuple[str, str]]:
    """CSV and JSON of what a section shows. The breakdowns of reports received that the dashboard
    protects together are exported together too, so that both carry the same suppression."""
    bys = LINKED_REPORTS if code == REPORTS and by in LINKED_REPORTS else (by,)
    query = {"indicator": code, "period": period.key(), "by": ";".join(",".join(b) for b in bys)}
    return [
        (name, f"{reverse('observatory:export', kwargs={'fmt': fmt})}?{urlencode(query)}")
        for fmt, name in (("csv", "CSV"), ("json", "JSON"))
    ]


def section_from(result: Any, title: str, *, kind: str = "bars") -> Section:
    """A chart and table for a computed (already protected) result."""
    by = tuple(result.by)
    section = Section(key=f"{result.indicator.code}-{'-'.join(by) or 'total'}", title=title)
    section.column = " / ".join(str(registry.DIMENSIONS.get(d, d)) for d in by) or _("Total")
    section.downloads = export_links(result.indicator.code, result.period, by)
    section.note = str(result.note or "")
    section.total = result.total.display() if result.available else ""
    if not result.available:
        return section
    indicator = result.indicator
    if indicator.is_median:
        section.rate_header = _("Median (days)")
    elif indicator.has_rate or indicator.kind == "funnel":
        section.rate_header = _("Share")
    for r in result.rows:
        extra = r.median if indicator.is_median else r.rate
        shown = "" if extra is None else (f"{extra:.1f}" if indicator.is_median else _rate(extra))
        section.rows.append(Row(_label(r, by), r.value.display(), shown))
    # Charts leave out the empty categories (the table beneath lists them all) so they stay short.
    points = [
        (_label(r, by), r.value)
        for r in result.rows
        if kind == "funnel" or r.value.suppressed or r.value.value
    ]
    empty = _("No figures for this period.")
    if not by:
        return section
    if kind == "map" and by[0] in (registry.PROVINCE, registry.DISTRICT):
        section.chart = maps.choropleth(
            title, {r.key[by[0]]: r.value for r in result.rows}, level=by[0], legend=map_legend()
        )
    elif kind == "funnel":
        section.chart = charts.funnel(title, points, empty=empty, kept=_("{rate}% of the stage before"))
    else:
        section.chart = charts.bars(title, points, empty=empty)
    return section


def breakdown(
    code: str, period: Any, by: tuple[str, ...], reader: snapshots.Reader, title: str, *, kind: str = "bars"
) -> Section:
    try:
        result = reader.result(code, period, by)
    except DisclosureError:  # compute coarsens by itself; this is a last line of defence
        return Section(
            key=code, title=title, note=_("These figures are too few to show at this level of detail.")
        )
    return section_from(result, title, kind=kind)


def map_legend() -> dict[str, str]:
    return {
        "zero": _("None"),
        "suppressed": _("Withheld (<5 or x)"),
        "no_data": _("No figure"),
        "range": _("{low} to {high}"),
        "others": _("Every other area: none"),
    }


def time_series(code: str, period: Any, reader: snapshots.Reader, title: str) -> Section:
    section = Section(key=f"{code}-series", title=title, column=_("Period"))
    try:
        points = reader.series(code, series_periods(period))
    except DisclosureError:
        section.note = _("These figures are too few to show period by period. Choose a longer period.")
        return section
    section.rows = [Row(p.label(), cell.display()) for p, cell in points]
    short = [(_short_label(p), cell) for p, cell in points]
    section.chart = charts.time_series(title, short, empty=_("No figures for this period."))
    return section


STACK_LENGTH = 6


def channels_over_time(period: Any, reader: snapshots.Reader, title: str) -> Section:
    """Reports by channel for the last periods of the same kind, as stacked bars.

    Each period's channel breakdown is the one of the indicator's canonical set (protected together
    with its province and district breakdowns), so no period is published under two suppression
    patterns.
    """
    section = Section(key="channels-over-time", title=title, column=_("Period and channel"))
    periods = series_periods(period)[-STACK_LENGTH:]
    tables = []
    for p in periods:
        result = reader.result(REPORTS, p, LINKED_REPORTS[0])
        cells = (
            {r.key[registry.CHANNEL]: r for r in result.rows} if tuple(result.by) == LINKED_REPORTS[0] else {}
        )
        tables.append((p, cells))
    channels: list[tuple[str, str]] = []
    for _p, cells in tables:
        for code, row in cells.items():
            if (row.value.suppressed or row.value.value) and code not in [c for c, _l in channels]:
                channels.append((code, row.label[registry.CHANNEL]))
    zero = Cell(0, False, False)
    series = [
        (label, [cells[code].value if code in cells else zero for _p, cells in tables])
        for code, label in channels
    ]
    section.chart = charts.stacked_bars(
        title, [_short_label(p) for p, _cells in tables], series, empty=_("No figures for this period.")
    )
    for p, cells in tables:
        for code, label in channels:
            if code in cells:
                section.rows.append(Row(f"{p.label()}: {label}", cells[code].value.display()))
    return section


def _short_label(period: Any) -> str:
    """A period's label short enough for a chart axis on a phone: "Oct 2026", "2026 Q3", "2026"."""
    if period.kind == "month":
        return date_format(period.start, "M Y")
    if period.kind == "quarter":
        return f"{period.start.year} Q{period.quarter_number}"
    return str(period.start.year)


def district_section(result: Any) -> Section | None:
    """The district map, only where counts allow: at most half the districts with cases withheld."""
    if tuple(result.by) != (registry.DISTRICT,):
        return None
    nonzero = [r for r in result.rows if r.value.suppressed or r.value.value]
    hidden = [r for r in nonzero if r.value.suppressed]
    if not nonzero or len(hidden) * 2 > len(nonzero):
        return None
    section = section_from(result, _("Reports received by district"), kind="map")
    section.rows = [row for row, r in zip(section.rows, result.rows, strict=True) if r in nonzero]
    return section


@dataclass
class Figures:
    period: Any
    headline: list[tuple[str, str]]
    sections: list[Section]
    province_map: Section
    district_map: Section | None
    linked: dict[str, Any] = field(default_factory=dict)  # reports received by dimension, protected together
    as_of: dt.datetime | None = None  # when the oldest figure shown was computed
    live: bool = False  # some figure was computed now (its snapshot missing or out of date)


HEADLINE_CODES = ("OCSEA.REFERRAL.POLICE_72H", "OCSEA.DAYS.REFERRAL", "OCSEA.VICTIMS.TOLD_NO_ONE")


def figures(period: Any, agency: Agency | None, reader: snapshots.Reader | None = None) -> Figures:
    """Everything the dashboard and the bulletin show for ``period``, read through ``reader``
    (stored snapshots when fresh, else computed now).

    The breakdowns of reports received by channel, province and district share one grand total, so
    they are protected together (the indicator's canonical set): no withheld cell of one can be
    worked out from another.
    """
    reader = reader or snapshots.Reader(agency)
    reader.prefetch([REPORTS], series_periods(period))
    reader.prefetch([FORMS, PLATFORMS, FUNNEL, *HEADLINE_CODES], [period])
    by_channel, by_province, by_district = reader.linked(
        REPORTS, period, [(registry.CHANNEL,), (registry.PROVINCE,), (registry.DISTRICT,)]
    )
    sections = [
        time_series(REPORTS, period, reader, _("Reports received over time")),
        section_from(by_channel, _("Reports received, by channel")),
        channels_over_time(period, reader, _("Reports received by channel, period by period")),
        breakdown(FORMS, period, (registry.FORM,), reader, _("Cases by form of abuse")),
        breakdown(PLATFORMS, period, (registry.PLATFORM,), reader, _("Cases by platform")),
        breakdown(FUNNEL, period, (registry.STAGE,), reader, _("From report to conviction"), kind="funnel"),
    ]
    province = section_from(by_province, _("Reports received by province"), kind="map")
    headline = [(_("Reports received"), by_channel.total.display())]
    labels = (
        _("Referred to the police within 72 hours"),
        _("Median days from report to referral"),
        _("Child victims who told no one"),
    )
    for code, label in zip(HEADLINE_CODES, labels, strict=True):
        headline.append((label, _headline(code, period, reader)))
    linked = {registry.CHANNEL: by_channel, registry.PROVINCE: by_province, registry.DISTRICT: by_district}
    return Figures(
        period, headline, sections, province, district_section(by_district), linked, reader.as_of, reader.live
    )


def _headline(code: str, period: Any, reader: snapshots.Reader) -> str:
    try:
        result = reader.result(code, period, ())
    except (DisclosureError, LookupError, ValueError):
        return "-"
    if not result.available:
        return "-"
    if result.indicator.is_median:
        return "-" if result.median is None else f"{result.median:.1f}"
    if result.indicator.has_rate:
        return _rate(result.rate) or "-"
    return result.total.display()
