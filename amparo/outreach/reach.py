"""Reach of the education work, with disclosure control (amparo.lib.disclosure): plain functions the
observatory's indicator registry can call, and the `/outreach/reach/` page uses.

- `subscribers_by_province_language()`: active SMS subscribers, province x language (one 2-D table,
  so that the province and language breakdowns are its protected margins);
- `messages_by_status_language(start, end)`: series messages sent in a period, delivery status (from
  the provider's delivery reports) x language; `messages_by_status` and `delivered_by_language` are
  its row totals and its "delivered" row, so they are protected together;
- `sessions_by_district_area(start, end)`, `participants_by_district_area(start, end)`: community
  sessions and their participants, district x urban/rural (margins: by district, by urban/rural);
- `participants_by_sex_age(start, end)`: participants, sex x age band (the same people as by
  district: `participant_tables` protects both together, as they share their grand total);
- `districts_reached(start, end)`: how many of the country's districts held at least one session.

The same figures per calendar period are indicators of the observatory's registry (`OUTREACH.*`,
registered by `register_indicators()` from the app's `ready()`), computed and protected there.

Every count table comes back as Cells (counts 1-4 shown "<5", complements "x"); a table that cannot
be protected at this level of detail gives None (the caller says so and shows a coarser figure).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import cast

from django.db.models import Case, CharField, Count, Exists, F, IntegerField, OuterRef, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from amparo.core.models import Agency, District
from amparo.intake.models import OutboundStatus
from amparo.lib.disclosure import DisclosureError, Table1D, Table2D, suppress_1d, suppress_2d, suppress_linked
from amparo.observatory import indicators as reg
from amparo.observatory.compute import Period, Source
from amparo.observatory.indicators import Indicator
from amparo.outreach.models import (
    AgeBand,
    CommunitySession,
    Dispatch,
    SessionParticipants,
    Sex,
    Subscriber,
    SubscriberState,
)

UNKNOWN = "unknown"
URBAN, RURAL = "urban", "rural"


def _languages() -> list[str]:
    from django.conf import settings

    return [code for code, _name in settings.LANGUAGES]


def _protect_2d(rows: dict[str, dict[str, int]]) -> Table2D | None:
    if not rows:
        return None
    try:
        return suppress_2d(rows)
    except DisclosureError:
        return None


def subscribers_by_province_language() -> Table2D | None:
    """Active subscribers now, by province (or "unknown") and language."""
    from amparo.core.models import Province

    languages = _languages()
    rows: dict[str, dict[str, int]] = {
        code: dict.fromkeys(languages, 0)
        for code in Province.objects.order_by("code").values_list("code", flat=True)
    }
    rows[UNKNOWN] = dict.fromkeys(languages, 0)
    counted = (
        Subscriber.objects.filter(state=SubscriberState.ACTIVE)
        .values("province_id", "language")
        .annotate(n=Count("id"))
    )
    for row in counted:
        language = row["language"] if row["language"] in languages else languages[0]
        rows[row["province_id"] or UNKNOWN][language] += row["n"]
    return _protect_2d(rows)


def _dispatches(start: dt.datetime, end: dt.datetime):  # noqa: ANN202
    return Dispatch.objects.filter(created_at__gte=start, created_at__lt=end, message__isnull=False)


def messages_by_status_language(start: dt.datetime, end: dt.datetime) -> Table2D | None:
    """Series messages sent in the period, delivery status x language: one table, so that the messages
    by status (its row totals) and those delivered by language (its "delivered" row) are protected
    together and neither can be used to work out a hidden figure of the other."""
    languages = _languages()
    rows = {status: dict.fromkeys(languages, 0) for status in OutboundStatus.values}
    counted = _dispatches(start, end).values("message__status", "language").annotate(n=Count("id"))
    for row in counted:
        language = row["language"] if row["language"] in languages else languages[0]
        rows[row["message__status"]][language] += row["n"]
    return _protect_2d(rows)


def messages_by_status(start: dt.datetime, end: dt.datetime) -> Table1D | None:
    """Messages by delivery status (the row totals of `messages_by_status_language`)."""
    table = messages_by_status_language(start, end)
    return Table1D(cells=dict(table.row_totals), total=table.total) if table else None


def delivered_by_language(start: dt.datetime, end: dt.datetime) -> Table1D | None:
    """Messages delivered by language (the "delivered" row of `messages_by_status_language`)."""
    table = messages_by_status_language(start, end)
    if table is None:
        return None
    delivered = OutboundStatus.DELIVERED
    return Table1D(cells=dict(table.cells[delivered]), total=table.row_totals[delivered])


def _sessions(start: dt.date, end: dt.date):  # noqa: ANN202
    return CommunitySession.objects.filter(date__gte=start, date__lt=end)


def sessions_by_district_area(start: dt.date, end: dt.date) -> Table2D | None:
    rows: dict[str, dict[str, int]] = defaultdict(lambda: {URBAN: 0, RURAL: 0})
    for row in _sessions(start, end).values("district_id", "urban").annotate(n=Count("id")):
        rows[row["district_id"]][URBAN if row["urban"] else RURAL] += row["n"]
    return _protect_2d(dict(sorted(rows.items())))


def participant_tables(start: dt.date, end: dt.date) -> tuple[Table2D | None, Table2D | None]:
    """Participants by district x urban/rural and by sex x age band. Both count the same people, so
    they share their grand total and are protected together (`suppress_linked`): a total hidden in
    one is hidden in the other. (None, None) when they cannot be protected at this level of detail."""
    participants = SessionParticipants.objects.filter(session__in=_sessions(start, end))
    by_place: dict[str, dict[str, int]] = defaultdict(lambda: {URBAN: 0, RURAL: 0})
    counted = participants.values("session__district_id", "session__urban").annotate(n=Sum("count"))
    for row in counted:
        by_place[row["session__district_id"]][URBAN if row["session__urban"] else RURAL] += row["n"] or 0
    by_person = {sex: dict.fromkeys(AgeBand.values, 0) for sex in Sex.values}
    for row in participants.values("sex", "age_band").annotate(n=Sum("count")):
        by_person[row["sex"]][row["age_band"]] += row["n"] or 0
    if not by_place:
        return None, None
    try:
        place, person = suppress_linked([dict(sorted(by_place.items())), by_person])
    except DisclosureError:
        return None, None
    return cast(Table2D, place), cast(Table2D, person)


def participants_by_district_area(start: dt.date, end: dt.date) -> Table2D | None:
    return participant_tables(start, end)[0]


def participants_by_sex_age(start: dt.date, end: dt.date) -> Table2D | None:
    return participant_tables(start, end)[1]


def special_groups(start: dt.date, end: dt.date) -> dict[str, object]:
    """Out-of-school children and children with disabilities who took part (each its own protected count)."""
    totals = _sessions(start, end).aggregate(oos=Sum("out_of_school"), dis=Sum("with_disability"))
    return {
        "out_of_school": suppress_1d({"all": totals["oos"] or 0}).total,
        "with_disability": suppress_1d({"all": totals["dis"] or 0}).total,
    }


@dataclass(frozen=True)
class DistrictShare:
    reached: int
    total: int

    @property
    def share(self) -> float:
        return 100.0 * self.reached / self.total if self.total else 0.0


def districts_reached(start: dt.date, end: dt.date) -> DistrictShare:
    """Districts (not people: no suppression needed) where at least one session was held."""
    reached = _sessions(start, end).values("district_id").distinct().count()
    return DistrictShare(reached, District.objects.count())


def last_twelve_months(today: dt.date) -> tuple[dt.date, dt.date]:
    """From the same day a year ago up to and including today."""
    try:
        start = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        start = today.replace(year=today.year - 1, day=28)
    return start + dt.timedelta(days=1), today + dt.timedelta(days=1)


# --- The observatory's reach indicators -------------------------------------------------------------
#
# The same populations, per calendar period, as indicators of the observatory's registry: their
# figures are computed and protected by amparo.observatory.compute like every other indicator (on the
# dashboards, in the exports, the snapshots and DHIS2). `register_indicators()` is called from
# OutreachConfig.ready(); the observatory never imports outreach.

PARTICIPANT_AGE = "participant_age"  # the register's own age bands (adults included)

SOURCE_OUTREACH = _(
    "Outreach app: SMS subscriptions and the series messages sent to them (with the provider's delivery "
    "reports), and the register of community awareness sessions."
)


def _outreach_indicators() -> list[Indicator]:
    return [
        Indicator(
            code="OUTREACH.SUBSCRIBERS.ACTIVE",
            name=_("Active SMS subscribers"),
            definition=_(
                "People subscribed to an awareness series by SMS or USSD and still receiving it at the "
                "end of the period (now, for the current period): the series started before then, and "
                "they had neither stopped nor received its last message. By the province and language "
                "they chose."
            ),
            numerator=_("Subscribers receiving a series at the end of the period."),
            unit=reg.PERSONS,
            disaggregations=(reg.PROVINCE, reg.LANGUAGE),
            source=SOURCE_OUTREACH,
            kind="outreach_subscribers",
            additive=False,
            cross=(reg.PROVINCE, reg.LANGUAGE),
        ),
        Indicator(
            code="OUTREACH.MESSAGES.DELIVERED",
            name=_("Awareness messages delivered"),
            definition=_(
                "Messages of SMS awareness series sent in the period whose delivery the provider "
                "confirmed, by the language they were sent in."
            ),
            numerator=_("Series messages sent in the period and reported delivered."),
            unit=reg.COUNT,
            disaggregations=(reg.LANGUAGE,),
            source=SOURCE_OUTREACH,
            kind="outreach_delivered",
        ),
        Indicator(
            code="OUTREACH.SESSIONS.HELD",
            name=_("Community awareness sessions held"),
            definition=_(
                "Awareness sessions held in the period in schools, communities, health centres, "
                "workplaces or online, as recorded in the sessions register, by district and by whether "
                "the place is urban or rural."
            ),
            numerator=_("Sessions held in the period."),
            unit=reg.COUNT,
            disaggregations=(reg.PROVINCE, reg.DISTRICT, reg.SETTLEMENT),
            source=SOURCE_OUTREACH,
            kind="outreach_sessions",
        ),
        Indicator(
            code="OUTREACH.PARTICIPANTS",
            name=_("Participants in community awareness sessions"),
            definition=_(
                "People who took part in the awareness sessions held in the period, by district, by "
                "whether the place is urban or rural, and by sex and age band. Someone who attended "
                "several sessions is counted at each."
            ),
            numerator=_("Participants recorded for the sessions held in the period."),
            unit=reg.PERSONS,
            disaggregations=(reg.PROVINCE, reg.DISTRICT, reg.SETTLEMENT, reg.SEX, PARTICIPANT_AGE),
            source=SOURCE_OUTREACH,
            kind="outreach_participants",
            cross=(reg.SEX, PARTICIPANT_AGE),
        ),
        Indicator(
            code="OUTREACH.DISTRICTS.REACHED",
            name=_("Share of districts reached by community sessions"),
            definition=_(
                "Of the country's districts, the share where at least one awareness session was held "
                "in the 12 months up to the end of the period."
            ),
            numerator=_("Districts with a session in the 12 months up to the end of the period."),
            denominator=_("Districts of the country."),
            unit=reg.PERCENT,
            disaggregations=(reg.PROVINCE,),
            source=SOURCE_OUTREACH,
            kind="outreach_districts",
            additive=False,
        ),
    ]


def _settlement(field: str) -> Case:
    return Case(When(**{field: True}, then=Value(URBAN)), default=Value(RURAL), output_field=CharField())


def _language(field: str) -> Case:
    """The language, or the first of settings.LANGUAGES when it is not one of them (as above)."""
    languages = _languages()
    return Case(
        When(**{f"{field}__in": languages}, then=F(field)),
        default=Value(languages[0]),
        output_field=CharField(),
    )


def _active_at(moment: dt.datetime) -> Q:
    """Subscribers receiving a series at ``moment``: started before it, and not stopped by then nor
    past their series' last message (a completed series ends with its last message)."""
    started = Q(started__lt=moment)
    sent_later = Exists(Dispatch.objects.filter(subscriber=OuterRef("pk"), created_at__gte=moment))
    return started & (
        Q(state=SubscriberState.ACTIVE)
        | Q(state=SubscriberState.STOPPED, stopped_at__gte=moment)
        | (Q(state=SubscriberState.COMPLETED) & Q(sent_later))
    )


def subscribers_source(indicator: Indicator, period: Period, agency: Agency | None) -> Source:
    _start, end = period.bounds()
    qs = Subscriber.objects.annotate(started=Coalesce("activated_at", "subscribed_at")).filter(
        _active_at(end)
    )
    if agency is not None:
        qs = qs.filter(series__owning_agency=agency)
    return Source(qs, {reg.PROVINCE: F("province_id"), reg.LANGUAGE: _language("language")})


def delivered_source(indicator: Indicator, period: Period, agency: Agency | None) -> Source:
    start, end = period.bounds()
    qs = _dispatches(start, end).filter(message__status=OutboundStatus.DELIVERED)
    if agency is not None:
        qs = qs.filter(translation__item__owning_agency=agency)
    return Source(qs, {reg.LANGUAGE: _language("language")})


def _sessions_of(period: Period, agency: Agency | None):  # noqa: ANN202
    qs = _sessions(period.start, period.end)
    return qs if agency is None else qs.filter(facilitating_agency=agency)


def sessions_source(indicator: Indicator, period: Period, agency: Agency | None) -> Source:
    dims = {
        reg.PROVINCE: F("district__province_id"),
        reg.DISTRICT: F("district_id"),
        reg.SETTLEMENT: _settlement("urban"),
    }
    return Source(_sessions_of(period, agency), dims)


def participants_source(indicator: Indicator, period: Period, agency: Agency | None) -> Source:
    qs = SessionParticipants.objects.filter(session__in=_sessions_of(period, agency))
    dims = {
        reg.PROVINCE: F("session__district__province_id"),
        reg.DISTRICT: F("session__district_id"),
        reg.SETTLEMENT: _settlement("session__urban"),
        reg.SEX: F("sex"),
        PARTICIPANT_AGE: F("age_band"),
    }
    return Source(qs, dims, measure=Coalesce(Sum("count"), 0, output_field=IntegerField()))


def twelve_months_to(end: dt.date) -> tuple[dt.date, dt.date]:
    """The 12 months up to ``end`` (excluded), the first day of a month: [a year before, end)."""
    return end.replace(year=end.year - 1), end


def districts_source(indicator: Indicator, period: Period, agency: Agency | None) -> Source:
    start, end = twelve_months_to(period.end)
    held = _sessions(start, end).filter(district=OuterRef("pk"))
    if agency is not None:
        held = held.filter(facilitating_agency=agency)
    return Source(District.objects.all(), {reg.PROVINCE: F("province_id")}, flag=Q(Exists(held)))


_SOURCES = {
    "outreach_subscribers": subscribers_source,
    "outreach_delivered": delivered_source,
    "outreach_sessions": sessions_source,
    "outreach_participants": participants_source,
    "outreach_districts": districts_source,
}


def register_indicators() -> None:
    """Add the reach indicators (and the register's age bands) to the observatory's registry."""
    reg.register_dimension(
        PARTICIPANT_AGE,
        _("Age band of participants"),
        lambda: [(code, str(label)) for code, label in AgeBand.choices],
    )
    for indicator in _outreach_indicators():
        reg.register_indicator(indicator, _SOURCES[indicator.kind])
