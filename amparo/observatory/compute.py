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
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldError
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cases import models as cm
from amparo.cases.taxonomy import KNOWN_RELATIONSHIPS, AgeBand, Disclosure, Form, Platform, Relationship, Sex
from amparo.cases.workflow import COURT_OUTCOMES, Outcome, Status
from amparo.core.models import Agency, AgencyKind, District, Province
from amparo.lib.disclosure import (
    DEFAULT_THRESHOLD,
    Cell,
    DisclosureError,
    Table1D,
    Table2D,
    safe_rate,
    suppress_1d,
    suppress_2d,
)
from amparo.lib.disclosure import suppress_linked as _suppress_linked
from amparo.observatory import indicators as reg
from amparo.observatory.indicators import Indicator

__all__ = [
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
    "funnel",
    "months_of",
    "result_from_json",
    "series",
    "snapshot",
]

NOT_RECORDED = "not_recorded"
POLICE_KINDS = (AgencyKind.POLICE, AgencyKind.CRIMINAL_INVESTIGATION)
REFERRAL_WINDOW = dt.timedelta(hours=72)

# --- Periods ----------------------------------------------------------------------------------------

_MONTH = re.compile(r"(\d{4})-?(\d{2})")
_QUARTER = re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE)
_YEAR = re.compile(r"(\d{4})")
MIN_YEAR, MAX_YEAR = 1900, 2999


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, quarter or year: ``start`` is its first day, ``end`` the next period's."""

    kind: str  # "month" | "quarter" | "year"
    start: dt.date
    end: dt.date

    MONTHS = {"month": 1, "quarter": 3, "year": 12}

    def __post_init__(self) -> None:
        months = self.MONTHS.get(self.kind)
        if months is None:
            raise ValueError("A period is a month, a quarter or a year.")
        if self.start.day != 1 or _add_months(self.start, months) != self.end:
            raise ValueError("A period starts on the first day of a month and lasts its whole length.")
        if self.kind == "quarter" and (self.start.month - 1) % 3:
            raise ValueError("A quarter starts in January, April, July or October.")
        if self.kind == "year" and self.start.month != 1:
            raise ValueError("A year starts in January.")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = dt.date(year, month, 1)
        return cls("month", start, _add_months(start, 1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        start = dt.date(year, 3 * (quarter - 1) + 1, 1)
        return cls("quarter", start, _add_months(start, 3))

    @classmethod
    def year(cls, year: int) -> Period:
        return cls("year", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> Period:
        if kind == "month":
            return cls.month(day.year, day.month)
        if kind == "quarter":
            return cls.quarter(day.year, (day.month - 1) // 3 + 1)
        if kind == "year":
            return cls.year(day.year)
        raise ValueError("A period is a month, a quarter or a year.")

    @classmethod
    def parse(cls, text: str) -> Period:
        """ "2026-10" or "202610" (month), "2026Q3" or "2026-Q3" (quarter), "2026" (year).

        Raises ValueError with a message saying what is accepted.
        """
        value = str(text).strip()
        try:
            if m := _QUARTER.fullmatch(value):
                year = cls._check_year(int(m[1]))
                return cls.quarter(year, int(m[2]))
            if m := _MONTH.fullmatch(value):
                year, month = cls._check_year(int(m[1])), int(m[2])
                if not 1 <= month <= 12:
                    raise ValueError
                return cls.month(year, month)
            if m := _YEAR.fullmatch(value):
                return cls.year(cls._check_year(int(m[1])))
        except ValueError:
            pass
        raise ValueError(
            _(
                "Give a period as a month (2026-10 or 202610), a quarter (2026Q3) or a year (2026), "
                "between %(first)s and %(last)s."
            )
            % {"first": MIN_YEAR, "last": MAX_YEAR}
        )

    @staticmethod
    def _check_year(year: int) -> int:
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError
        return year

    @property
    def quarter_number(self) -> int:
        return (self.start.month - 1) // 3 + 1

    def key(self) -> str:
        """The canonical text form, which :meth:`parse` reads back: 2026-10, 2026Q3, 2026."""
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year:04d}Q{self.quarter_number}"
        return f"{self.start.year:04d}"

    def dhis2(self) -> str:
        """DHIS2's period identifier: 202610, 2026Q3, 2026."""
        return self.key().replace("-", "")

    def label(self) -> str:
        if self.kind == "month":
            return date_format(self.start, "F Y")
        if self.kind == "quarter":
            return _("Quarter %(quarter)s of %(year)s") % {
                "quarter": self.quarter_number,
                "year": self.start.year,
            }
        return str(self.start.year)

    def previous(self, n: int = 1) -> Period:
        start = _add_months(self.start, -n * self.MONTHS[self.kind])
        return Period(self.kind, start, _add_months(start, self.MONTHS[self.kind]))

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Aware datetimes at local midnight of the first day and of the next period's first day."""
        tz = timezone.get_default_timezone()
        return (
            dt.datetime.combine(self.start, dt.time(), tzinfo=tz),
            dt.datetime.combine(self.end, dt.time(), tzinfo=tz),
        )

    def __str__(self) -> str:
        return self.key()


# --- Results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultRow:
    """One published row. ``value`` is already protected; render ``value.display()``.

    ``rate`` is a percentage (indicators with a denominator), ``median`` a number of days (median
    indicators, where ``value`` is the number of cases measured); both are None when withheld.
    """

    key: dict[str, str]
    label: dict[str, str]
    value: Cell
    rate: float | None
    median: float | None = None
    denominator: Cell | None = None


@dataclass(frozen=True)
class Result:
    """An indicator for one period and breakdown, ready to publish.

    ``rows`` hold the breakdown (for two disaggregations, the interior cells); ``margins`` the totals
    of each category of a two-way table (their key names one dimension only). ``total`` is the
    numerator's total (for a median indicator, the number of cases measured), ``rate``/``median``
    the overall figure. ``note`` explains anything a reader must know (a coarser view than asked,
    a source not recorded yet). When ``available`` is False the indicator has no data source yet:
    its ``total`` is a placeholder marked suppressed, never a number to show.
    """

    indicator: Indicator
    period: Period
    by: tuple[str, ...]
    rows: list[ResultRow]
    total: Cell
    note: str
    rate: float | None = None
    median: float | None = None
    denominator: Cell | None = None
    margins: list[ResultRow] = field(default_factory=list)
    agency: str = ""  # agency code, "" for the whole country

    @property
    def available(self) -> bool:
        return self.indicator.available and self.indicator.kind != "unavailable"

    def cells(self) -> Iterable[Cell]:
        """Every count this result publishes (for checks that nothing small leaks)."""
        for row in [*self.rows, *self.margins]:
            yield row.value
            if row.denominator is not None:
                yield row.denominator
        yield self.total
        if self.denominator is not None:
            yield self.denominator


_PLACEHOLDER = Cell(0, True, False)

# --- Categories -------------------------------------------------------------------------------------

STAGES: tuple[tuple[str, Any], ...] = (
    ("report", gettext_lazy("Reports received")),
    ("investigation", gettext_lazy("Investigation")),
    ("prosecution", gettext_lazy("Prosecution")),
    ("court", gettext_lazy("Court")),
    ("conviction", gettext_lazy("Conviction")),
)


def _not_recorded() -> tuple[str, str]:
    return (NOT_RECORDED, _("Not recorded"))


def categories(dimension: str, indicator: Indicator | None = None) -> list[tuple[str, str]]:
    """The (code, translated label) pairs of a disaggregation, in display order, zeros included."""
    if dimension == reg.PROVINCE:
        return [*Province.objects.values_list("code", "name"), _not_recorded()]
    if dimension == reg.DISTRICT:
        return [*District.objects.values_list("code", "name"), _not_recorded()]
    if dimension == reg.CHANNEL:
        return [(code, str(label)) for code, label in cm.Channel.choices]
    if dimension == reg.FORM:
        return [*((c, str(label)) for c, label in Form.choices), _not_recorded()]
    if dimension == reg.PLATFORM:
        return [*((c, str(label)) for c, label in Platform.choices), _not_recorded()]
    if dimension == reg.SEX:
        return [(c, str(label)) for c, label in Sex.choices]
    if dimension == reg.AGE_BAND:
        return [(c, str(label)) for c, label in AgeBand.choices if c != AgeBand.ADULT]
    if dimension == reg.RELATIONSHIP:
        return [*((c, str(label)) for c, label in Relationship.choices), _not_recorded()]
    if dimension == reg.DISCLOSURE:
        return [*((c, str(label)) for c, label in Disclosure.choices), _not_recorded()]
    if dimension == reg.KNOWN:
        return [("known", _("Known to the child")), ("unknown", _("Unknown to the child")), _not_recorded()]
    if dimension == reg.AREA:
        return [
            ("capital", _("In a provincial capital")),
            ("outside_capital", _("Outside provincial capitals")),
        ]
    if dimension == reg.STAGE:
        return [(code, str(label)) for code, label in STAGES]
    if dimension == reg.LANGUAGE:
        return [(code, str(label)) for code, label in settings.LANGUAGES]
    if dimension == reg.SETTLEMENT:
        return [("urban", _("Urban")), ("rural", _("Rural"))]
    registered = reg.registered_categories(dimension)
    if registered is not None:
        return registered
    raise ValueError(f"unknown disaggregation {dimension!r}")


def _labels_for(by: Sequence[str]) -> list[dict[str, str]]:
    return [dict(categories(d)) for d in by]


# --- Database expressions -----------------------------------------------------------------------------


class DaysBetween(Func):
    """(end - start) in days, as a float, computed by the database."""

    output_field = FloatField()

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # noqa: ANN401
        return super().as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision) / 86400.0",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # noqa: ANN401
        return super().as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s))",
            arg_joiner=") - julianday(",
            **extra,
        )


class Median(Aggregate):
    """PostgreSQL's PERCENTILE_CONT(0.5): the median, interpolated between the middle two values."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    allow_distinct = False


def _json_contains(field_name: str, code: str) -> Q:
    """``field`` (a JSON list) contains ``code``: a jsonb @> on PostgreSQL; on SQLite, which has no
    JSON containment lookup, a search for the quoted code in the JSON text (codes are plain
    lower-case words, so the quoted form cannot occur inside another code)."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field_name}__contains": [code]})
    return Q(**{f"{field_name}__icontains": f'"{code}"'})


def _case_q(period: Period | None, agency: Agency | None, prefix: str = "") -> Q:
    """Cases received in ``period`` (any time when None) within ``agency``'s scope. A duplicate
    merged into another case is never counted: its report lives on in the case it was merged into."""
    q = Q(**{f"{prefix}merged_into__isnull": True})
    if period is not None:
        start, end = period.bounds()
        q &= Q(**{f"{prefix}received_at__gte": start, f"{prefix}received_at__lt": end})
    if agency is not None:
        accepted = cm.Referral.objects.filter(to_agency=agency, status=cm.ReferralStatus.ACCEPTED).values(
            "case_id"
        )
        q &= Q(**{f"{prefix}owning_agency": agency}) | Q(**{f"{prefix}pk__in": accepted})
    return q


@dataclass
class _Source:
    """A population to count: a queryset, the expression of each dimension, and the measure."""

    qs: QuerySet
    dims: dict[str, Any]
    measure: Any = field(default_factory=lambda: Count("pk"))
    flag: Any = None  # for share indicators: an expression that is True for the numerator


# What another app's source function returns (see ``indicators.register_indicator``).
Source = _Source


def _case_dims(prefix: str = "") -> dict[str, Any]:
    return {
        reg.PROVINCE: F(f"{prefix}province_id"),
        reg.DISTRICT: F(f"{prefix}district_id"),
        reg.CHANNEL: F(f"{prefix}channel"),
    }


def _victims(period: Period, agency: Agency | None) -> QuerySet:
    return cm.Person.objects.filter(_case_q(period, agency, "case__"), role=cm.PersonRole.VICTIM).exclude(
        age_band=AgeBand.ADULT
    )


def _victim_dims() -> dict[str, Any]:
    return {
        reg.SEX: F("sex"),
        reg.AGE_BAND: F("age_band"),
        reg.PROVINCE: F("case__province_id"),
        reg.DISTRICT: F("case__district_id"),
    }


def _known_expression() -> Case:
    unknown = (Relationship.STRANGER, Relationship.ONLINE_ONLY)
    return Case(
        When(known_to_child=True, then=Value("known")),
        When(known_to_child=False, then=Value("unknown")),
        When(relationship__in=list(KNOWN_RELATIONSHIPS), then=Value("known")),
        When(relationship__in=unknown, then=Value("unknown")),
        default=Value(NOT_RECORDED),
        output_field=CharField(),
    )


def _transitions_to(status: str, **extra: Any) -> QuerySet:
    return cm.Transition.objects.filter(case=OuterRef("pk"), to_status=status, **extra)


def _police_72h(case_ref: str = "pk") -> Q:
    in_time = cm.Referral.objects.filter(
        case=OuterRef(case_ref),
        to_agency__kind__in=POLICE_KINDS,
        created_at__lte=OuterRef("received_at") + REFERRAL_WINDOW,
    )
    return Q(owning_agency__kind__in=POLICE_KINDS) | Q(Exists(in_time))


def _rights_given() -> Q:
    """The child (a victim Person row) has been given the rights package: a delivery in their case
    names them, or names nobody, or was for the caregiver (who receives it for every child of the
    case). A delivery naming another child of the same case does not count for this one."""
    given = cm.RightsDelivery.objects.filter(case=OuterRef("case_id")).filter(
        Q(person=OuterRef("pk")) | Q(person__isnull=True) | Q(audience=cm.RightsAudience.CAREGIVER)
    )
    return Q(Exists(given))


def _source(indicator: Indicator, period: Period, agency: Agency | None) -> _Source:
    kind = indicator.kind
    registered = reg.source_for(kind)
    if registered is not None:  # another app's indicator (indicators.register_indicator)
        return registered(indicator, period, agency)
    cases = cm.Case.objects.filter(_case_q(period, agency))
    if kind == "cases":
        return _Source(cases, _case_dims())
    if kind == "case_forms":
        qs = cm.CaseForm.objects.filter(_case_q(period, agency, "case__"))
        return _Source(qs, {reg.FORM: F("form"), reg.PROVINCE: F("case__province_id")})
    if kind == "case_platforms":
        qs = cm.CasePlatform.objects.filter(_case_q(period, agency, "case__"))
        return _Source(qs, {reg.PLATFORM: F("platform"), reg.PROVINCE: F("case__province_id")})
    if kind == "victims":
        return _Source(_victims(period, agency), _victim_dims())
    if kind == "offenders":
        qs = cm.Person.objects.filter(_case_q(period, agency, "case__"), role=cm.PersonRole.OFFENDER)
        return _Source(
            qs,
            {
                reg.KNOWN: _known_expression(),
                reg.RELATIONSHIP: F("relationship"),
                reg.PROVINCE: F("case__province_id"),
            },
        )
    if kind == "told_no_one":
        qs = _victims(period, agency).exclude(disclosure=[])
        return _Source(qs, _victim_dims(), flag=_json_contains("disclosure", Disclosure.NO_ONE))
    if kind == "police_72h":
        return _Source(cases, _case_dims(), flag=_police_72h())
    if kind == "rights_info":
        return _Source(_victims(period, agency), _victim_dims(), flag=_rights_given())
    if kind == "intl_received":
        return _Source(cases.filter(channel=cm.Channel.INTERNATIONAL), _case_dims())
    if kind == "intl_acted":
        acted = (
            Q(Exists(_transitions_to(Status.UNDER_INVESTIGATION)))
            | Q(
                Exists(
                    cm.JusticeEvent.objects.filter(
                        JUSTICE_STEP[Status.UNDER_INVESTIGATION], case=OuterRef("pk")
                    )
                )
            )
            | Q(Exists(cm.Referral.objects.filter(case=OuterRef("pk"))))
        )
        return _Source(cases.filter(channel=cm.Channel.INTERNATIONAL), _case_dims(), flag=acted)
    if kind == "training":
        participant = apps.get_model("observatory", "TrainingParticipant")
        qs = participant.objects.filter(session__date__gte=period.start, session__date__lt=period.end)
        if agency is not None:
            qs = qs.filter(agency=agency)
        area = Case(
            When(session__urban=True, then=Value("capital")),
            default=Value("outside_capital"),
            output_field=CharField(),
        )
        return _Source(
            qs,
            {reg.PROVINCE: F("province_id"), reg.AREA: area},
            measure=Coalesce(Sum(F("female") + F("male")), 0, output_field=IntegerField()),
        )
    if kind == "hash_matches":
        match = apps.get_model("evidence", "Match")
        start, end = period.bounds()
        # Cases whose first known-material match falls in the period (HAVING on the grouped matches).
        firsts = (
            match.objects.values("item__case_id")
            .annotate(first=Min("matched_at"))
            .filter(first__gte=start, first__lt=end)
            .values("item__case_id")
        )
        return _Source(cm.Case.objects.filter(_case_q(None, agency), pk__in=firsts), _case_dims())
    raise ValueError(f"indicator kind {kind!r} has no count source")


def _key_of(value: Any) -> str:
    return NOT_RECORDED if value in (None, "") else str(value)


def _count(source: _Source, by: Sequence[str]) -> dict[tuple[str, ...], int]:
    """Counts per combination of the dimensions in ``by`` (one GROUP BY query)."""
    if not by:
        # A total: one aggregate (values() with no names would select, and decrypt, every column).
        return {(): int(source.qs.order_by().aggregate(n=source.measure)["n"] or 0)}
    names = [f"d_{d}" for d in by]
    qs = source.qs.annotate(**{name: source.dims[d] for name, d in zip(names, by, strict=True)})
    rows = qs.values(*names).annotate(n=source.measure).order_by()
    out: dict[tuple[str, ...], int] = {}
    for row in rows:
        key = tuple(_key_of(row[name]) for name in names)
        out[key] = out.get(key, 0) + int(row["n"] or 0)
    return out


def _count_flagged(source: _Source, by: Sequence[str]) -> dict[tuple[str, ...], int]:
    """Like :func:`_count`, with the numerator flag ("yes"/"no") as the last key."""
    names = [f"d_{d}" for d in by]
    flag = Case(When(source.flag, then=Value("yes")), default=Value("no"), output_field=CharField())
    qs = source.qs.annotate(**{name: source.dims[d] for name, d in zip(names, by, strict=True)}, d_flag=flag)
    rows = qs.values(*names, "d_flag").annotate(n=source.measure).order_by()
    out: dict[tuple[str, ...], int] = {}
    for row in rows:
        key = (*(_key_of(row[name]) for name in names), row["d_flag"])
        out[key] = out.get(key, 0) + int(row["n"] or 0)
    return out


def _disclosure_counts(period: Period, agency: Agency | None) -> dict[tuple[str, ...], int]:
    """Child victims per code of whom they told (multi-valued), and those with nothing recorded."""
    victims = _victims(period, agency)
    out = {(code,): victims.filter(_json_contains("disclosure", code)).count() for code in Disclosure.values}
    out[(NOT_RECORDED,)] = victims.filter(disclosure=[]).count()
    return out


# --- Tables -------------------------------------------------------------------------------------------


def _table_1d(counts: dict[tuple[str, ...], int], dim: str) -> dict[str, int]:
    table = {code: 0 for code, _label in categories(dim)}
    for (code,), n in counts.items():
        table[code] = table.get(code, 0) + n
    return table


def _table_2d(
    counts: dict[tuple[str, ...], int], rows: str, columns: str | list[str]
) -> dict[str, dict[str, int]]:
    column_codes = columns if isinstance(columns, list) else [code for code, _label in categories(columns)]
    table = {code: dict.fromkeys(column_codes, 0) for code, _label in categories(rows)}
    for (r, c), n in counts.items():
        row = table.setdefault(r, dict.fromkeys(column_codes, 0))
        row[c] = row.get(c, 0) + n
    return table


def _label(labels: dict[str, str], code: str) -> str:
    return labels.get(code, code)


def _rows_1d(table: Table1D, dim: str) -> list[ResultRow]:
    labels = dict(categories(dim))
    return [
        ResultRow(key={dim: code}, label={dim: _label(labels, code)}, value=cell, rate=None)
        for code, cell in table.cells.items()
    ]


def _rows_2d(table: Table2D, by: tuple[str, str]) -> tuple[list[ResultRow], list[ResultRow]]:
    rl, cl = _labels_for(by)
    rows = [
        ResultRow(
            key={by[0]: r, by[1]: c},
            label={by[0]: _label(rl, r), by[1]: _label(cl, c)},
            value=cell,
            rate=None,
        )
        for r, line in table.cells.items()
        for c, cell in line.items()
    ]
    margins = [
        ResultRow(key={by[0]: r}, label={by[0]: _label(rl, r)}, value=cell, rate=None)
        for r, cell in table.row_totals.items()
    ] + [
        ResultRow(key={by[1]: c}, label={by[1]: _label(cl, c)}, value=cell, rate=None)
        for c, cell in table.column_totals.items()
    ]
    return rows, margins


COARSER_NOTE = gettext_lazy(
    "This breakdown cannot be published without revealing small counts; a coarser view is shown."
)
MULTI_NOTE = gettext_lazy(
    "A record can fall under several categories of this breakdown, so the rows add up to more than "
    "the number of records."
)


def _check(indicator: Indicator, by: tuple[str, ...]) -> tuple[str, ...]:
    by = tuple(by)
    if indicator.kind == "funnel":
        return ()
    if not indicator.allows(by):
        raise ValueError(
            _("The indicator %(code)s can be broken down by: %(allowed)s.")
            % {"code": indicator.code, "allowed": ", ".join(indicator.disaggregations) or "-"}
        )
    if len(by) > 2:
        raise ValueError(_("An indicator can be broken down by at most two disaggregations at once."))
    if _is_share(indicator) and len(by) > 1:
        raise ValueError(_("A share can be broken down by one disaggregation at a time."))
    if indicator.is_median and len(by) > 1:
        raise ValueError(_("A median can be broken down by one disaggregation at a time."))
    if reg.DISCLOSURE in by and len(by) > 1:
        raise ValueError(_("Whom the child told can only be shown on its own."))
    return by


_SHARE_KINDS = frozenset({"police_72h", "told_no_one", "intl_acted", "rights_info"})


def _is_share(indicator: Indicator) -> bool:
    """A share of a partition (numerator / the rest): the built-in ones, and another app's
    indicator that has a rate."""
    if indicator.kind in _SHARE_KINDS:
        return True
    return reg.source_for(indicator.kind) is not None and indicator.has_rate


_OTHER_APPS = frozenset({"hash_matches", "training", "median_removal"})
_NESTED = -1  # compute_linked's province x district table, which no caller asked for by name


def _join_notes(*notes: Any) -> str:
    return " ".join(str(n) for n in notes if n)


# --- Count indicators ---------------------------------------------------------------------------------


def _raw_tables(indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None) -> Any:  # noqa: ANN401
    if indicator.kind == "disclosure":
        counts = _disclosure_counts(period, agency) if by else {(): _victims(period, agency).count()}
    else:
        counts = _count(_source(indicator, period, agency), by)
    if not by:
        return {"total": counts.get((), 0)}
    if len(by) == 1:
        return _table_1d(counts, by[0])
    return _table_2d(counts, by[0], by[1])


def _result_from_table(
    indicator: Indicator,
    period: Period,
    by: tuple[str, ...],
    table: Table1D | Table2D,
    note: str,
    agency: Agency | None,
) -> Result:
    if not by:
        return Result(indicator, period, (), [], table.total, note, agency=_code(agency))
    if len(by) == 1:
        return Result(indicator, period, by, _rows_1d(table, by[0]), table.total, note, agency=_code(agency))
    rows, margins = _rows_2d(table, (by[0], by[1]))
    return Result(indicator, period, by, rows, table.total, note, margins=margins, agency=_code(agency))


def _protect_one(raw: Any, two_way: bool) -> Table1D | Table2D:  # noqa: ANN401
    return suppress_2d(raw) if two_way else suppress_1d(raw)


def _code(agency: Agency | None) -> str:
    return agency.code if agency is not None else ""


def _count_result(indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None) -> Result:
    base_note = _join_notes(indicator.note, MULTI_NOTE if set(by) & reg.MULTI_VALUED else "")
    attempt = by
    while True:
        raw = _raw_tables(indicator, period, attempt, agency)
        try:
            table = _protect_one(raw, len(attempt) == 2)
        except DisclosureError:
            attempt = attempt[:-1]  # coarser: drop the last disaggregation, down to the total alone
            continue
        note = base_note if attempt == by else _join_notes(base_note, COARSER_NOTE)
        return _result_from_table(indicator, period, attempt, table, note, agency)


# --- Share indicators ---------------------------------------------------------------------------------


def _share_result(indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None) -> Result:
    """A share is a partition (numerator / the rest), protected as one table with the denominator
    as its total, so that "the rest" cannot reveal a small count either."""
    source = _source(indicator, period, agency)
    note = str(indicator.note or "")
    if by:
        counts = _count_flagged(source, by)
        raw = _table_2d(counts, by[0], ["yes", "no"])
        try:
            table = suppress_2d(raw)
        except DisclosureError:
            by, note = (), _join_notes(note, COARSER_NOTE)
        else:
            labels = dict(categories(by[0]))
            rows = [
                ResultRow(
                    key={by[0]: code},
                    label={by[0]: _label(labels, code)},
                    value=line["yes"],
                    rate=safe_rate(line["yes"], table.row_totals[code]),
                    denominator=table.row_totals[code],
                )
                for code, line in table.cells.items()
            ]
            numerator, denominator = table.column_totals["yes"], table.total
            return Result(
                indicator,
                period,
                by,
                rows,
                numerator,
                note,
                rate=safe_rate(numerator, denominator),
                denominator=denominator,
                agency=_code(agency),
            )
    counts = _count_flagged(source, ())
    table1 = suppress_1d({"yes": counts.get(("yes",), 0), "no": counts.get(("no",), 0)})
    numerator = table1.cells["yes"]
    return Result(
        indicator,
        period,
        (),
        [],
        numerator,
        note,
        rate=safe_rate(numerator, table1.total),
        denominator=table1.total,
        agency=_code(agency),
    )


# --- Median indicators --------------------------------------------------------------------------------


# The justice event that marks the same step as a change of status (a case reaches a stage by either).
JUSTICE_STEP = {
    Status.UNDER_INVESTIGATION: Q(kind=cm.JusticeEventKind.INVESTIGATION_OPENED),
    Status.WITH_PROSECUTOR: Q(kind=cm.JusticeEventKind.CHARGES_FILED),
    Status.IN_COURT: Q(kind=cm.JusticeEventKind.COURT_CASE_REGISTERED),
}
_MEDIAN_STEPS = {
    "median_investigation": (
        Q(to_status=Status.UNDER_INVESTIGATION),
        JUSTICE_STEP[Status.UNDER_INVESTIGATION],
    ),
    "median_charge": (Q(to_status=Status.WITH_PROSECUTOR), JUSTICE_STEP[Status.WITH_PROSECUTOR]),
    "median_verdict": (
        Q(to_status=Status.CLOSED, outcome__in=sorted(COURT_OUTCOMES)),
        Q(kind=cm.JusticeEventKind.VERDICT, verdict__in=sorted(COURT_OUTCOMES)),
    ),
}


def _first_events(
    indicator: Indicator, period: Period, agency: Agency | None
) -> tuple[QuerySet, dict[str, Any]]:
    """One row per measured item with its ``days``, and the expressions of its dimensions.

    Case medians: one row per case whose first event of the kind falls in the period. For the
    justice steps the first event is the earlier of the first matching change of status and the
    first matching justice event. Removal: one row per take-down notice removed in the period.
    """
    start, end = period.bounds()
    if indicator.kind == "median_removal":
        notice = apps.get_model("evidence", "TakedownNotice")
        qs = notice.objects.filter(removed_at__gte=start, removed_at__lt=end, requested_at__isnull=False)
        if agency is not None:
            qs = qs.filter(_case_q(None, agency, "case__"))
        qs = qs.annotate(days=DaysBetween(F("removed_at"), F("requested_at")))
        return qs, {reg.PLATFORM: F("platform")}
    scope = _case_q(None, agency, "case__")
    if indicator.kind == "median_referral":
        earlier = cm.Referral.objects.filter(case=OuterRef("case"), created_at__lt=OuterRef("created_at"))
        qs = cm.Referral.objects.filter(scope, created_at__gte=start, created_at__lt=end).exclude(
            Exists(earlier)
        )
        return qs.annotate(days=DaysBetween(F("created_at"), F("case__received_at"))), _case_dims("case__")
    transition_q, justice_q = _MEDIAN_STEPS[indicator.kind]
    moved = cm.Transition.objects.filter(transition_q, at__gte=start, at__lt=end).values("case_id")
    judged = cm.JusticeEvent.objects.filter(justice_q, occurred_at__gte=start, occurred_at__lt=end).values(
        "case_id"
    )
    first_transition = (
        cm.Transition.objects.filter(transition_q, case=OuterRef("pk")).order_by("at").values("at")[:1]
    )
    first_justice = (
        cm.JusticeEvent.objects.filter(justice_q, case=OuterRef("pk"))
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    if connection.vendor == "postgresql":
        # PostgreSQL's LEAST ignores NULLs: each subquery appears once per use of "first".
        first = Least("t_first", "j_first", output_field=DateTimeField())
    else:
        # SQLite's MIN(a, b) is NULL when either is.
        first = Least(
            Coalesce("t_first", "j_first"), Coalesce("j_first", "t_first"), output_field=DateTimeField()
        )
    qs = (
        cm.Case.objects.filter(_case_q(None, agency))
        .filter(Q(pk__in=moved) | Q(pk__in=judged))
        .annotate(t_first=Subquery(first_transition), j_first=Subquery(first_justice))
        .annotate(first=first)
        .filter(first__gte=start, first__lt=end)
    )
    return qs.annotate(days=DaysBetween(F("first"), F("received_at"))), _case_dims()


def _medians(qs: QuerySet, name: str | None, counts: dict[str, int]) -> dict[str, float]:
    """Median of ``days`` per group (``name`` is the group annotation, None for all)."""
    if connection.vendor == "postgresql":
        if name is None:
            value = qs.aggregate(m=Median("days"))["m"]
            return {"": float(value)} if value is not None else {}
        rows = qs.values(name).annotate(m=Median("days")).order_by()
        return {_key_of(row[name]): float(row["m"]) for row in rows if row["m"] is not None}
    # SQLite has no percentile function: take the middle row(s) by ordered offset, per group.
    out: dict[str, float] = {}
    for code, n in counts.items():
        if n <= 0:
            continue
        group = qs
        if name is not None:
            group = (
                qs.filter(**{f"{name}__isnull": True}) if code == NOT_RECORDED else qs.filter(**{name: code})
            )
        middle = list(group.order_by("days").values_list("days", flat=True)[(n - 1) // 2 : n // 2 + 1])
        if middle:
            out[code] = sum(middle) / len(middle)
    return out


def _grouped_counts_and_medians(
    events: QuerySet, by: tuple[str, ...], dims: dict[str, Any]
) -> tuple[dict[str, int], dict[str, float], int, float | None]:
    """Per group (the one dimension of ``by``, if any): the number of cases measured and the
    median of their ``days``; then the same overall. PostgreSQL does it in two queries."""
    name = f"d_{by[0]}" if by else None
    grouped = events.annotate(**{name: dims[by[0]]}) if name else events
    if connection.vendor == "postgresql":
        counts: dict[str, int] = {}
        medians: dict[str, float] = {}
        if name:
            for row in grouped.values(name).annotate(n=Count("pk"), m=Median("days")).order_by():
                key = _key_of(row[name])
                counts[key] = counts.get(key, 0) + row["n"]
                if row["m"] is not None:
                    medians[key] = float(row["m"])
        overall = events.aggregate(n=Count("pk"), m=Median("days"))
        return counts, medians, overall["n"], None if overall["m"] is None else float(overall["m"])
    counts = {k[0]: n for k, n in _count(_Source(events, dims), by).items()} if by else {}
    medians = _medians(grouped, name, counts) if name else {}
    total = events.count()
    return counts, medians, total, _medians(events, None, {"": total}).get("")


def _median_result(
    indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None
) -> Result:
    events, dims = _first_events(indicator, period, agency)
    note = str(indicator.note or "")
    counts, medians, n, overall = _grouped_counts_and_medians(events, by, dims)
    if by:
        raw = _table_1d({(k,): v for k, v in counts.items()}, by[0])
        try:
            table = suppress_1d(raw)
        except DisclosureError:
            by, note = (), _join_notes(note, COARSER_NOTE)
        else:
            labels = dict(categories(by[0]))
            rows = [
                ResultRow(
                    key={by[0]: code},
                    label={by[0]: _label(labels, code)},
                    value=cell,
                    rate=None,
                    median=None if cell.suppressed else _round(medians.get(code)),
                )
                for code, cell in table.cells.items()
            ]
            return Result(
                indicator,
                period,
                by,
                rows,
                table.total,
                note,
                median=None if table.total.suppressed else _round(overall),
                agency=_code(agency),
            )
    total = suppress_1d({"total": n}).total
    return Result(
        indicator,
        period,
        (),
        [],
        total,
        note,
        median=None if total.suppressed else _round(overall),
        agency=_code(agency),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- The funnel ---------------------------------------------------------------------------------------


def _stage_of_transition() -> Case:
    return Case(
        When(transitions__to_status=Status.CLOSED, transitions__outcome=Outcome.CONVICTED, then=Value(4)),
        When(transitions__to_status=Status.IN_COURT, then=Value(3)),
        When(transitions__to_status=Status.WITH_PROSECUTOR, then=Value(2)),
        When(transitions__to_status=Status.UNDER_INVESTIGATION, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def _justice_stage() -> Subquery:
    """The furthest stage a case's justice events show (0 when none)."""
    stage = Case(
        When(kind=cm.JusticeEventKind.VERDICT, verdict=Outcome.CONVICTED, then=Value(4)),
        When(JUSTICE_STEP[Status.IN_COURT] | Q(kind=cm.JusticeEventKind.VERDICT), then=Value(3)),
        When(JUSTICE_STEP[Status.WITH_PROSECUTOR], then=Value(2)),
        When(JUSTICE_STEP[Status.UNDER_INVESTIGATION], then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    furthest = (
        cm.JusticeEvent.objects.filter(case=OuterRef("pk"))
        .annotate(stage=stage)
        .order_by("-stage")
        .values("stage")[:1]
    )
    return Subquery(furthest, output_field=IntegerField())


def _furthest_stage() -> Max:
    """The furthest stage a case has reached (0 report ... 4 conviction), over its transitions."""
    return Max(_stage_of_transition())


def _funnel_cells(period: Period, agency: Agency | None) -> list[Cell]:
    """Cumulative stage counts, protected.

    The cases of a cohort are partitioned by the furthest stage they reached, and that partition
    is protected with :func:`suppress_1d`. A cumulative count ("reached stage k or further") is the
    sum of the partition from k on; it is published only when the published partition already
    determines it (every earlier part, or every later part, is published), so the funnel adds no
    equation that the protected partition does not already give. Otherwise it is withheld.
    """
    # One query: each case's furthest stage (grouped over its transitions), then counted per stage.
    # Cases with justice events are few: their stage is looked up separately and merged in, so that
    # the common path stays one grouped query.
    cases = cm.Case.objects.filter(_case_q(period, agency))
    judged = cases.filter(Exists(cm.JusticeEvent.objects.filter(case=OuterRef("pk"))))
    reached = (
        cases.exclude(Exists(cm.JusticeEvent.objects.filter(case=OuterRef("pk"))))
        .annotate(stage=_furthest_stage())
        .aggregate(**{f"c{k}": Count("pk", filter=Q(stage__gte=k)) for k in range(len(STAGES))})
    )
    for row in (
        judged.annotate(t_stage=_furthest_stage())
        .annotate(j_stage=_justice_stage())
        .values("t_stage", "j_stage")
    ):
        stage = max(row["t_stage"] or 0, row["j_stage"] or 0)
        for k in range(stage + 1):
            reached[f"c{k}"] = (reached[f"c{k}"] or 0) + 1
    cumulative = [reached[f"c{k}"] or 0 for k in range(len(STAGES))]
    parts = [cumulative[k] - (cumulative[k + 1] if k + 1 < len(STAGES) else 0) for k in range(len(STAGES))]
    try:
        table = suppress_1d({code: parts[i] for i, (code, _label) in enumerate(STAGES)})
    except DisclosureError:
        # Too few cases to show any stage safely: the cohort's size alone, every stage withheld.
        small = 0 < cumulative[0] < DEFAULT_THRESHOLD
        total = Cell(cumulative[0], small, small)
        return [total, *(Cell(v, True, 0 < v < DEFAULT_THRESHOLD) for v in cumulative[1:])]
    published = [table.cells[code] for code, _label in STAGES]
    out = []
    for k in range(len(STAGES)):
        value = sum(parts[k:])
        determined = all(not c.suppressed for c in published[:k]) or all(
            not c.suppressed for c in published[k:]
        )
        if k == 0:
            out.append(table.total)
            continue
        small = 0 < value < table.total.threshold
        out.append(Cell(value, small or not determined, small))
    return out


def _funnel_result(indicator: Indicator, period: Period, agency: Agency | None) -> Result:
    cells = _funnel_cells(period, agency)
    total = cells[0]
    rows = [
        ResultRow(
            key={reg.STAGE: code},
            label={reg.STAGE: str(label)},
            value=cell,
            rate=safe_rate(cell, total),
            denominator=total,
        )
        for (code, label), cell in zip(STAGES, cells, strict=True)
    ]
    return Result(
        indicator, period, (reg.STAGE,), rows, total, str(indicator.note or ""), agency=_code(agency)
    )


# --- Entry points -------------------------------------------------------------------------------------


def _unavailable(
    indicator: Indicator, period: Period, by: tuple[str, ...], agency: Agency | None, note: str
) -> Result:
    return Result(indicator, period, by, [], _PLACEHOLDER, note, agency=_code(agency))


def _source_note(indicator: Indicator) -> str:
    return str(indicator.note) or _("Source not yet recorded.")


def _compute_flat(
    code: str, period: Period, by: tuple[str, ...] = (), *, agency: Agency | None = None
) -> Result:
    """One indicator for one period computed on its own (no nesting), protected. ``by`` names up to two disaggregations the
    indicator allows (shares, medians and "whom the child told": one). ``agency`` limits the count
    to that agency's cases (owned, or referred and accepted); None is the whole country.

    Raises :class:`amparo.observatory.indicators.UnknownIndicator` for an unknown code and
    ValueError for a breakdown the indicator does not allow.
    """
    indicator = reg.get(code)
    by = _check(indicator, tuple(by))
    if not indicator.available or indicator.kind == "unavailable":
        return _unavailable(indicator, period, by, agency, _source_note(indicator))
    if indicator.kind == "funnel":
        return _funnel_result(indicator, period, agency)
    try:
        if _is_share(indicator):
            return _share_result(indicator, period, by, agency)
        if indicator.is_median:
            return _median_result(indicator, period, by, agency)
        return _count_result(indicator, period, by, agency)
    except (LookupError, FieldError):
        if indicator.kind not in _OTHER_APPS:
            raise
        # Another app's tables (evidence, the training register) are not there, or not in the
        # shape expected: say so rather than publish a number.
        missing = replace(indicator, available=False)
        return _unavailable(missing, period, by, agency, _("Source not yet recorded."))


def _linked_flat(
    code: str, period: Period, bys: Sequence[tuple[str, ...]], *, agency: Agency | None = None
) -> list[Result]:
    """Several breakdowns of one indicator and period that are published together, protected
    together so that no suppressed cell of one can be recovered from another.

    Count indicators: the tables (and the total) are passed to ``suppress_linked``; a one-way
    breakdown that is a margin of a requested two-way one is taken from that table's margins
    rather than published twice. Two two-way tables sharing a dimension cannot be protected
    together: the second is published as its total only, with a note. Multi-valued breakdowns
    (forms, platforms, whom the child told) describe mentions, not records; they are protected on
    their own. Shares and medians: the first breakdown is computed in full; a further breakdown is
    published only if its suppression of the shared totals agrees, otherwise as the total only.
    Returns one Result per requested breakdown, in order.
    """
    indicator = reg.get(code)
    bys = [_check(indicator, tuple(b)) for b in bys]
    if (
        not indicator.available
        or indicator.kind in {"funnel", "unavailable", "disclosure"}
        or _is_share(indicator)
        or indicator.is_median
    ):
        return _linked_by_agreement(indicator, period, bys, agency)
    results: dict[int, Result] = {}
    linkable = [i for i, b in enumerate(bys) if not set(b) & reg.MULTI_VALUED]
    for i in set(range(len(bys))) - set(linkable):
        results[i] = _compute_flat(code, period, bys[i], agency=agency)
    # Two-way tables first; a second two-way table sharing a dimension is reduced to the total.
    two_way: list[int] = []
    reduced: set[int] = set()
    for i in linkable:
        if len(bys[i]) == 2:
            if any(set(bys[i]) & set(bys[j]) for j in two_way):
                reduced.add(i)
            else:
                two_way.append(i)
    # Districts add up to provinces: a province and a district breakdown published together are one
    # province x district table (its margins), or, when a two-way table already uses either, the
    # district breakdowns are published as the total only.
    table_by: dict[int, tuple[str, ...]] = dict(enumerate(bys))
    places = [i for i in linkable if i not in reduced and set(bys[i]) & {reg.PROVINCE, reg.DISTRICT}]
    if any(reg.PROVINCE in bys[i] for i in places) and any(reg.DISTRICT in bys[i] for i in places):
        if all(len(bys[i]) == 1 for i in places):
            table_by[_NESTED] = (reg.PROVINCE, reg.DISTRICT)
            two_way.append(_NESTED)
        else:
            reduced.update(i for i in places if reg.DISTRICT in bys[i])
            two_way = [j for j in two_way if j not in reduced]
    margin_of: dict[int, tuple[int, int]] = {}  # one-way index -> (two-way index, axis)
    for i in linkable:
        if len(bys[i]) == 1 and i not in reduced:
            for j in two_way:
                if bys[i][0] in table_by[j]:
                    margin_of[i] = (j, table_by[j].index(bys[i][0]))
                    break
    own = [
        i
        for i in [*linkable, _NESTED]
        if i in table_by and i not in reduced and i not in margin_of and table_by[i]
    ]
    while True:
        raws = [_raw_tables(indicator, period, table_by[i], agency) for i in own]
        if not raws:
            total = suppress_1d({"total": sum(_raw_tables(indicator, period, (), agency).values())}).total
            tables: list[Table1D | Table2D] = []
            break
        try:
            tables = _suppress_linked(raws)
        except DisclosureError:
            # Coarser: drop the breakdown with the most cells and try again.
            widest = max(own, key=lambda i: (len(table_by[i]), len(raws[own.index(i)])))
            own.remove(widest)
            reduced.add(widest)
            for k, (j, _axis) in list(margin_of.items()):
                if j == widest:
                    del margin_of[k]
                    reduced.add(k)
            continue
        total = tables[0].total
        break
    by_index = dict(zip(own, tables, strict=True))
    for i, table in by_index.items():
        if i != _NESTED:
            results[i] = _result_from_table(
                indicator, period, bys[i], table, str(indicator.note or ""), agency
            )
    for i, (j, axis) in margin_of.items():
        if j not in by_index:
            reduced.add(i)
            continue
        table2 = by_index[j]
        margin = table2.row_totals if axis == 0 else table2.column_totals
        dim = bys[i][0]
        labels = dict(categories(dim))
        rows = [
            ResultRow(key={dim: k}, label={dim: _label(labels, k)}, value=cell, rate=None)
            for k, cell in margin.items()
        ]
        results[i] = Result(
            indicator, period, bys[i], rows, table2.total, str(indicator.note or ""), agency=_code(agency)
        )
    for i in linkable:
        if i in results:
            continue
        note = "" if not bys[i] else str(COARSER_NOTE)
        results[i] = Result(
            indicator, period, (), [], total, _join_notes(indicator.note, note), agency=_code(agency)
        )
    return [results[i] for i in range(len(bys))]


def _linked_by_agreement(
    indicator: Indicator, period: Period, bys: list[tuple[str, ...]], agency: Agency | None
) -> list[Result]:
    """Shares and medians: keep a further breakdown only if its shared totals are suppressed exactly
    as in the first one (then it reveals nothing about them that the first does not)."""
    results: list[Result] = []
    first: Result | None = None
    for by in bys:
        result = _compute_flat(indicator.code, period, by, agency=agency)
        if first is None:
            first = result
        elif _shared(result) != _shared(first):
            result = Result(
                indicator,
                period,
                (),
                [],
                first.total,
                _join_notes(indicator.note, COARSER_NOTE),
                rate=first.rate,
                median=first.median,
                denominator=first.denominator,
                agency=_code(agency),
            )
        results.append(result)
    return results


def _shared(result: Result) -> tuple[bool, bool | None]:
    return (result.total.suppressed, None if result.denominator is None else result.denominator.suppressed)


# --- Nested periods -------------------------------------------------------------------------------
#
# A quarter and a year are published as the sums of their months' published figures. A figure of a
# quarter or a year is shown only when every month cell it adds up is shown; otherwise it is
# withheld. It is then a function of what the months already publish, so differencing a quarter or
# a year against its months (or a quarter against the year) cannot recover a withheld month: the
# coarser periods add no equation that the months do not already give. The price is that a coarser
# figure is withheld whenever one of its months is. Medians are not sums: a quarter's or a year's
# median is computed over the whole period, and shown only when the number of cases behind it is.
# An indicator that is not a sum over months (``additive=False``: a stock at the end of the period,
# a rolling window up to it) is computed for the quarter or the year itself, at its end: the figure
# is then the same as its last month's, computed the same way, so it is protected the same way.

NESTED_NOTE = gettext_lazy(
    "A figure of a quarter or a year is the sum of its months; it is withheld (x) when a month in it "
    "is withheld."
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


def months_of(period: Period) -> list[Period]:
    """The months a period is made of, in order."""
    return [Period.month(day.year, day.month) for day in _month_starts(period)]


def _month_starts(period: Period) -> list[dt.date]:
    return [_add_months(period.start, n) for n in range(Period.MONTHS[period.kind])]


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


@contextmanager
def _analytic_queries() -> Iterator[None]:
    """On PostgreSQL, run the indicator queries without JIT compilation. Their correlated
    subqueries give high cost estimates, so the planner JIT-compiles them, and compiling costs
    more than running them (ten times more for the medians on the benchmark's data). ``SET LOCAL``
    lasts until the surrounding transaction ends; nothing else changes."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


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


# --- Entry points -----------------------------------------------------------------------------------


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


def current_periods(today: dt.date | None = None) -> list[Period]:
    """The current and previous month, quarter and year."""
    today = today or timezone.localdate()
    out = []
    for kind in ("month", "quarter", "year"):
        current = Period.containing(kind, today)
        out += [current, current.previous()]
    return out


# --- Stored views (snapshots) -----------------------------------------------------------------------

_NOTE_PARTS: dict[str, Any] = {
    "multi": MULTI_NOTE,
    "coarser": COARSER_NOTE,
    "nested": NESTED_NOTE,
}


def note_keys(result: Result) -> list[str]:
    """Which standard sentences a result's note holds, so that a stored view can say them again in
    the reader's language (the indicator's own note is said whenever it has one)."""
    keys = [key for key, text in _NOTE_PARTS.items() if str(text) in result.note]
    if str(_("Source not yet recorded.")) in result.note and result.indicator.available:
        keys.append("source")
    return keys


def _note_from_keys(indicator: Indicator, keys: Sequence[str]) -> str:
    if "source" in keys or not indicator.available or indicator.kind == "unavailable":
        return _source_note(indicator) if indicator.note else _("Source not yet recorded.")
    return _join_notes(indicator.note, *(_NOTE_PARTS[k] for k in ("multi", "coarser", "nested") if k in keys))


def _cell_from_json(data: dict[str, Any] | None) -> Cell | None:
    if data is None:
        return None
    if data["suppressed"]:
        # The stored snapshot never holds a suppressed count: the value is a placeholder.
        return Cell(0, True, data["display"].startswith("<"))
    return Cell(int(data["value"]), False, False)


class _Labels:
    """Category labels in the active language, looked up once per dimension."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, str]] = {}

    def __call__(self, dim: str, code: str) -> str:
        if dim not in self._cache:
            self._cache[dim] = dict(categories(dim))
        return self._cache[dim].get(code, code)


def _row_from_json(data: dict[str, Any], labels: _Labels) -> ResultRow:
    return ResultRow(
        key=dict(data["key"]),
        label={dim: labels(dim, code) for dim, code in data["key"].items()},
        value=_cell_from_json(data),  # type: ignore[arg-type]
        rate=data.get("rate"),
        median=data.get("median"),
        denominator=_cell_from_json(data.get("denominator")),
    )


def result_from_json(
    indicator: Indicator, period: Period, data: dict[str, Any], labels: _Labels | None = None
) -> Result:
    """A stored view (:func:`amparo.observatory.exports.result_json` plus ``note_keys``) as a
    Result, its labels and note in the active language. Suppressed cells carry no count."""
    labels = labels or _Labels()
    if data["indicator"].get("available") is False and indicator.available:
        indicator = replace(indicator, available=False)
    total = _cell_from_json(data["total"]) or _PLACEHOLDER
    return Result(
        indicator,
        period,
        tuple(data["by"]),
        [_row_from_json(row, labels) for row in data["rows"]],
        total,
        _note_from_keys(indicator, data.get("note_keys", [])),
        rate=data["rate"],
        median=data["median"],
        denominator=_cell_from_json(data["denominator"]),
        margins=[_row_from_json(row, labels) for row in data["margins"]],
        agency=data["agency"] or "",
    )


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
