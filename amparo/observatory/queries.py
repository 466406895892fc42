"""The populations behind the indicators and their raw counts, computed in the database: which cases,
victims or transitions count for a period and an agency, the expressions that group them by each
disaggregation, and the first events that medians measure. Nothing here is published as it is: every
count goes through :mod:`amparo.observatory.protection` first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
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

from amparo.cases import models as cm
from amparo.cases.taxonomy import KNOWN_RELATIONSHIPS, AgeBand, Disclosure, Relationship
from amparo.cases.workflow import COURT_OUTCOMES, Outcome, Status
from amparo.core.models import Agency, AgencyKind
from amparo.observatory import indicators as reg
from amparo.observatory.indicators import Indicator
from amparo.observatory.periods import Period
from amparo.observatory.results import NOT_RECORDED

POLICE_KINDS = (AgencyKind.POLICE, AgencyKind.CRIMINAL_INVESTIGATION)


REFERRAL_WINDOW = dt.timedelta(hours=72)


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
