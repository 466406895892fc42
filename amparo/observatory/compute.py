"""Indicator values, computed in the database and protected before they leave this module.

The public API (the dashboards, the bulletin, the exports and DHIS2 all use it):

* :class:`Period` - a month, quarter or year (``Period.parse("2026-10")``, ``"2026Q3"``, ``"2026"``,
  DHIS2's ``"202610"``).
* :func:`compute` - one indicator for one period, whole country or one agency, optionally broken
  down by one or two disaggregations; returns a :class:`Result` of :class:`Cell` objects.
* :func:`compute_linked` - several breakdowns of one indicator and period that are published
  together (a page, a bulletin, a DHIS2 payload), protected together.
* :func:`series` - the total of an indicator over several periods.
* :func:`funnel` - the attrition funnel (report -> investigation -> prosecution -> court ->
  conviction).

Every count in a :class:`Result` has been through :mod:`amparo.lib.disclosure`: counts of 1 to 4
are suppressed ("<5") with complements so that they cannot be worked out from the totals or from
the other breakdowns published with them; rates are withheld when the numerator or denominator is
suppressed, medians when the number of cases behind them is. When a breakdown cannot be protected
at all (:class:`DisclosureError`), a coarser one is returned with a ``note`` saying so. Nothing here
returns a raw count.

Scope: the whole country, or one agency's cases (owned by it, or referred to it and accepted).
Periods follow the platform's time zone (Africa/Maputo): a report received at 23:30 on 31 October
in Maputo counts in October.

The work is split by job: :mod:`~amparo.observatory.periods` (months, quarters, years),
:mod:`~amparo.observatory.results` (what is published, its notes and stored JSON form),
:mod:`~amparo.observatory.queries` (the populations and raw counts, in the database),
:mod:`~amparo.observatory.protection` (tables protected by disclosure control, one period at a time),
:mod:`~amparo.observatory.nesting` (quarters and years from their months; the publisher that reads and
caches them). This module holds the entry points and re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import apps

from amparo.core.models import Agency
from amparo.lib.disclosure import Cell
from amparo.observatory import indicators as reg
from amparo.observatory.nesting import Publisher, canonical_views
from amparo.observatory.periods import MAX_YEAR, MIN_YEAR, Period, current_periods, months_of
from amparo.observatory.protection import _check
from amparo.observatory.queries import Source
from amparo.observatory.results import (
    NOT_RECORDED,
    STAGES,
    Result,
    ResultRow,
    _code,
    categories,
    note_keys,
    result_from_json,
)

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "NOT_RECORDED",
    "STAGES",
    "Period",
    "Publisher",
    "Result",
    "ResultRow",
    "Source",
    "canonical_views",
    "categories",
    "compute",
    "compute_cached",
    "compute_linked",
    "current_periods",
    "funnel",
    "months_of",
    "note_keys",
    "result_from_json",
    "series",
    "snapshot",
]


def compute(code: str, period: Period, by: tuple[str, ...] = (), *, agency: Agency | None = None) -> Result:
    """One indicator for one period, protected. ``by`` names up to two disaggregations the
    indicator allows (shares, medians and "whom the child told": one). ``agency`` limits the count
    to that agency's cases (owned, or referred and accepted); None is the whole country. A view of
    the indicator's :func:`canonical_views` is taken from that set; a quarter or a year is the sum
    of its months.

    Raises :class:`amparo.observatory.indicators.UnknownIndicator` for an unknown code and
    ValueError for a breakdown the indicator does not allow.
    """
    return Publisher(agency).result(code, period, tuple(by))


def compute_linked(
    code: str, period: Period, bys: Sequence[tuple[str, ...]], *, agency: Agency | None = None
) -> list[Result]:
    """Several breakdowns of one indicator and period, published together: from the canonical set
    when they all belong to it, else protected together (see ``_linked_flat``). One Result per
    requested breakdown, in order."""
    return Publisher(agency).linked(code, period, bys)


def series(code: str, periods: list[Period], *, agency: Agency | None = None) -> list[tuple[Period, Cell]]:
    """The protected total of an indicator for each period. Months, quarters and years may be
    mixed: a quarter or a year is the sum of its published months."""
    return Publisher(agency).series(code, periods)


FUNNEL_CODE = "OCSEA.FUNNEL"


def funnel(period: Period, *, agency: Agency | None = None) -> list[tuple[str, str, Cell]]:
    """(stage code, translated label, protected count): of the reports received in ``period``, how
    many have reached investigation, prosecution, court and conviction so far (a cohort)."""
    result = compute(FUNNEL_CODE, period, agency=agency)
    labels = dict(categories(reg.STAGE))
    return [(row.key[reg.STAGE], labels[row.key[reg.STAGE]], row.value) for row in result.rows]


def snapshot(
    code: str, period: Period, by: tuple[str, ...] = (), *, agency: Agency | None = None
) -> dict[str, Any] | None:
    """The stored published view as last refreshed, with its ``computed_at``, or None; it holds no
    suppressed count."""
    model = apps.get_model("observatory", "IndicatorSnapshot")
    row = (
        model.objects.filter(code=code, period=period.key(), by=",".join(by), agency_code=_code(agency))
        .values("data", "computed_at")
        .first()
    )
    return None if row is None else {**row["data"], "computed_at": row["computed_at"].isoformat()}


def compute_cached(
    code: str, period: Period, by: tuple[str, ...] = (), *, agency: Agency | None = None
) -> Result:
    """:func:`compute`, answered from the stored snapshot when there is one (whatever its age; the
    pages use :mod:`amparo.observatory.snapshots`, which checks freshness), else computed now."""
    indicator = reg.get(code)
    by = _check(indicator, tuple(by))
    stored = snapshot(code, period, by, agency=agency)
    if stored is None:
        return compute(code, period, by, agency=agency)
    return result_from_json(indicator, period, stored)
