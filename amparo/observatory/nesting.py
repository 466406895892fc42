"""Quarters and years from their months, and the :class:`Publisher` that computes (or, through a loader,
reads stored) groups of breakdowns published together and answers from them.

A quarter and a year are published as the sums of their months' published figures. A figure of a
quarter or a year is shown only when every month cell it adds up is shown; otherwise it is
withheld. It is then a function of what the months already publish, so differencing a quarter or
a year against its months (or a quarter against the year) cannot recover a withheld month: the
coarser periods add no equation that the months do not already give. The price is that a coarser
figure is withheld whenever one of its months is. Medians are not sums: a quarter's or a year's
median is computed over the whole period, and shown only when the number of cases behind it is.
An indicator that is not a sum over months (``additive=False``: a stock at the end of the period,
a rolling window up to it) is computed for the quarter or the year itself, at its end: the figure
is then the same as its last month's, computed the same way, so it is protected the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from amparo.core.models import Agency
from amparo.lib.disclosure import DEFAULT_THRESHOLD, Cell, safe_rate
from amparo.observatory import indicators as reg
from amparo.observatory.indicators import Indicator
from amparo.observatory.periods import Period, months_of
from amparo.observatory.protection import _check, _linked_flat, _round
from amparo.observatory.queries import _analytic_queries, _first_events, _grouped_counts_and_medians
from amparo.observatory.results import (
    COARSER_NOTE,
    MULTI_NOTE,
    NESTED_NOTE,
    Result,
    ResultRow,
    _code,
    _join_notes,
    _unavailable,
)

_WITHHELD = Cell(0, True, False)


def canonical_views(indicator: Indicator) -> list[tuple[str, ...]]:
    """The views of an indicator that every output publishes together, as one protected set: the
    total, each single disaggregation the indicator allows, sex by age band for child victims, and
    the indicator's ``cross`` view when it has one (its one-way views are then that table's margins).
    Any of these views, wherever it is shown (page, chart, map, bulletin, CSV, JSON, snapshot), is
    taken from this set, so it carries the same suppression everywhere."""
    if indicator.kind == "funnel":
        return [()]
    views: list[tuple[str, ...]] = [(), *((d,) for d in indicator.disaggregations)]
    if {reg.SEX, reg.AGE_BAND} <= set(indicator.disaggregations) and not indicator.has_rate:
        views.append((reg.SEX, reg.AGE_BAND))
    if indicator.cross is not None and indicator.cross not in views and not indicator.has_rate:
        views.append(indicator.cross)
    return views


def _row_key(key: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(key.items()))


def _sum_cells(cells: Sequence[Cell | None]) -> Cell:
    """The sum of month cells: published when every one is, else withheld. The marker depends only
    on what is published: "<5" when the single withheld month is "<5" and every other month is a
    published zero (the sum is then that month's count), "x" otherwise."""
    if any(cell is None for cell in cells):
        return _WITHHELD
    hidden = [cell for cell in cells if cell.suppressed]  # type: ignore[union-attr]
    if not hidden:
        return Cell(sum(cell.value for cell in cells), False, False)  # type: ignore[union-attr]
    if len(hidden) == 1 and hidden[0].primary and all(c.suppressed or c.value == 0 for c in cells):  # type: ignore[union-attr]
        return Cell(0, True, True, hidden[0].threshold)
    return _WITHHELD


def _derived_rows(
    template: list[ResultRow],
    months: list[list[ResultRow]],
    medians: dict[tuple[tuple[str, str], ...], float | None],
    is_median: bool,
) -> list[ResultRow]:
    by_key = [{_row_key(row.key): row for row in rows} for rows in months]
    out = []
    for row in template:
        key = _row_key(row.key)
        found = [m.get(key) for m in by_key]
        value = _sum_cells([r.value if r is not None else None for r in found])
        denominator = None
        if row.denominator is not None:
            denominator = _sum_cells([r.denominator if r is not None else None for r in found])
        out.append(
            ResultRow(
                key=dict(row.key),
                label=dict(row.label),
                value=value,
                rate=safe_rate(value, denominator) if denominator is not None else None,
                median=medians.get(key) if is_median else None,
                denominator=denominator,
            )
        )
    return out


def _derive(
    indicator: Indicator, period: Period, by: tuple[str, ...], months: list[Result], agency: Agency | None
) -> Result:
    """A quarter's or a year's view from its months' published views (see "Nested periods")."""
    missing = next((r for r in months if not r.available), None)
    if missing is not None:
        return _unavailable(missing.indicator, period, by, agency, missing.note)
    template = next((r for r in months if tuple(r.by) == by), None)
    medians, overall_median = (
        _period_medians(indicator, period, by, agency) if indicator.is_median else ({}, None)
    )
    total = _sum_cells([r.total for r in months])
    denominator = None
    if months[0].denominator is not None:
        denominator = _sum_cells([r.denominator for r in months])
    notes: list[Any] = [indicator.note]
    if set(by) & reg.MULTI_VALUED:
        notes.append(MULTI_NOTE)
    if template is None:
        rows: list[ResultRow] = []
        margins: list[ResultRow] = []
        shown_by: tuple[str, ...] = ()
        if by:
            notes.append(COARSER_NOTE)
    else:
        shown_by = by
        rows = _derived_rows(template.rows, [r.rows for r in months], medians, indicator.is_median)
        margins = _derived_rows(template.margins, [r.margins for r in months], {}, False)
    derived = [total, *(r.value for r in [*rows, *margins]), *(r.denominator for r in rows if r.denominator)]
    if any(cell.suppressed for cell in derived):
        notes.append(NESTED_NOTE)
    return Result(
        indicator,
        period,
        shown_by,
        rows,
        total,
        _join_notes(*dict.fromkeys(str(n) for n in notes if n)),
        rate=safe_rate(total, denominator) if denominator is not None else None,
        median=overall_median,
        denominator=denominator,
        margins=margins,
        agency=_code(agency),
    )


def _period_medians(
    indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None
) -> tuple[dict[tuple[tuple[str, str], ...], float | None], float | None]:
    """The medians of a quarter or a year, computed over the whole period (medians are not sums),
    each shown only when at least ``DEFAULT_THRESHOLD`` cases are behind it. The count of cases is
    published as the sum of the months (and may be withheld); showing the median then says only
    that the count is not 1-4, which pins no withheld month: a published month is 0 or at least 5,
    so either the months around a "<5" already add up to 5 or more, or another month is withheld
    too, and each "<5" month can still take every value from 1 to 4."""
    events, dims = _first_events(indicator, period, agency)
    counts, medians, n, overall = _grouped_counts_and_medians(events, by, dims)
    enough = DEFAULT_THRESHOLD
    rows = {
        ((by[0], code),): _round(medians.get(code))
        for code, count in counts.items()
        if by and count >= enough
    }
    return rows, _round(overall) if n >= enough else None


def _has_hidden(result: Result) -> bool:
    return any(cell.suppressed for cell in result.cells())


def _computed_directly(indicator: Indicator, period: Period) -> bool:
    """A month, an indicator without figures, or one that is not a sum over months (a stock, a
    rolling window) is computed for the period itself; anything else is derived from its months."""
    return (
        period.kind == "month"
        or not indicator.available
        or indicator.kind == "unavailable"
        or not indicator.additive
    )


GroupLoader = Callable[[Indicator, Period, "Agency | None"], "dict[tuple[str, ...], Result] | None"]


class Publisher:
    """What the observatory publishes, computed once per indicator and period.

    Each (indicator, period) is published as its :func:`canonical_views`, protected together; a
    quarter or a year is derived from its months (see "Nested periods"). ``loader`` may supply a
    stored set (the snapshots of :mod:`amparo.observatory.snapshots`) instead of computing it; a
    quarter or a year whose set is not stored is derived from its months, stored or computed.
    """

    def __init__(self, agency: Agency | None = None, loader: GroupLoader | None = None) -> None:
        self.agency = agency
        self.loader = loader
        self._groups: dict[tuple[str, str], dict[tuple[str, ...], Result]] = {}

    def group(self, code: str, period: Period) -> dict[tuple[str, ...], Result]:
        """Every canonical view of ``code`` for ``period``, by view."""
        key = (code, period.key())
        if key not in self._groups:
            indicator = reg.get(code)
            stored = self.loader(indicator, period, self.agency) if self.loader else None
            self._groups[key] = stored if stored is not None else self.compute_group(indicator, period)
        return self._groups[key]

    def compute_group(self, indicator: Indicator, period: Period) -> dict[tuple[str, ...], Result]:
        with _analytic_queries():
            return self._compute_group(indicator, period)

    def _compute_group(self, indicator: Indicator, period: Period) -> dict[tuple[str, ...], Result]:
        views = canonical_views(indicator)
        if _computed_directly(indicator, period):
            results = _linked_flat(indicator.code, period, views, agency=self.agency)
        else:
            months = [self.group(indicator.code, month) for month in months_of(period)]
            results = [_derive(indicator, period, by, [m[by] for m in months], self.agency) for by in views]
        return dict(zip(views, results, strict=True))

    def result(self, code: str, period: Period, by: tuple[str, ...] = ()) -> Result:
        return self.linked(code, period, [by])[0]

    def linked(self, code: str, period: Period, bys: Sequence[tuple[str, ...]]) -> list[Result]:
        indicator = reg.get(code)
        wanted = [_check(indicator, tuple(b)) for b in bys]
        views = canonical_views(indicator)
        if all(b in views for b in wanted):
            group = self.group(code, period)
            return [group[b] for b in wanted]
        # A combination outside the canonical set (a DHIS2 cross-tabulation): protected on its own.
        with _analytic_queries():
            return self._linked_other(indicator, period, wanted)

    def _linked_other(
        self, indicator: Indicator, period: Period, wanted: list[tuple[str, ...]]
    ) -> list[Result]:
        code = indicator.code
        if _computed_directly(indicator, period):
            return _linked_flat(code, period, wanted, agency=self.agency)
        months = [_linked_flat(code, month, wanted, agency=self.agency) for month in months_of(period)]
        return [
            _derive(indicator, period, by, [m[i] for m in months], self.agency) for i, by in enumerate(wanted)
        ]

    def series(self, code: str, periods: Sequence[Period]) -> list[tuple[Period, Cell]]:
        return [(period, self.result(code, period).total) for period in periods]
