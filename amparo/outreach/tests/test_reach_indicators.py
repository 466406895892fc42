"""The reach indicators in the observatory's registry: listed, computed per period from records made
through the outreach actions, and protected like every other indicator (counts 1-4 shown "<5", with
complements), in the exports too."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.functional import Promise

from amparo.core.models import Agency, District, Province
from amparo.intake import sms
from amparo.intake.models import OutboundMessage
from amparo.intake.providers import create_channel
from amparo.lib.disclosure import Cell
from amparo.observatory import compute as c
from amparo.observatory import indicators as reg
from amparo.outreach import actions, reach, seed, tasks
from amparo.outreach.models import Dispatch, Subscriber, SubscriberState
from amparo.outreach.tests.helpers import SYSTEM, approve_all, maputo

pytestmark = pytest.mark.django_db

CODES = (
    "OUTREACH.SUBSCRIBERS.ACTIVE",
    "OUTREACH.MESSAGES.DELIVERED",
    "OUTREACH.SESSIONS.HELD",
    "OUTREACH.PARTICIPANTS",
    "OUTREACH.DISTRICTS.REACHED",
)


def this_month() -> c.Period:
    return c.Period.containing("month", timezone.localdate())


def shown(cell: Cell) -> str:
    return cell.display()


def by_key(result: c.Result, dim: str) -> dict[str, str]:
    return {row.key[dim]: row.value.display() for row in result.rows}


def assert_true_or_withheld(found: dict[str, str], expected: dict[str, int]) -> None:
    """Each figure is published as it is, or withheld ("<5" only when it is 1-4)."""
    for key, value in expected.items():
        marker = "<5" if 0 < value < 5 else "x"
        assert found[key] in {str(value), marker}, (key, found[key], value)


def assert_nothing_small_is_published(result: c.Result) -> None:
    for cell in result.cells():
        if not cell.suppressed:
            assert cell.value == 0 or cell.value >= 5, (result.indicator.code, result.by, cell)


def assert_no_single_hidden_cell(result: c.Result) -> None:
    """A one-way view never hides exactly one of its rows and total (it would follow from the rest)."""
    if not result.rows:
        return
    hidden = sum(row.value.suppressed for row in result.rows) + result.total.suppressed
    assert hidden != 1, (result.indicator.code, result.by)


_phones = iter(range(10_000))


def subscribe(channel, *, language: str, province_code: str | None, count: int = 1) -> list[Subscriber]:  # noqa: ANN001
    """Subscribers made as the SMS conversation makes them: started, then their choices recorded."""
    made = []
    for _ in range(count):
        n = next(_phones)
        sub = actions.start_subscription(SYSTEM, channel, f"+25884{n:07d}", f"{n:064d}", language=language)
        province = Province.objects.get(pk=province_code) if province_code else None
        made.append(
            actions.update_subscription(
                SYSTEM, sub, audience="caregivers", province=province, state=SubscriberState.ACTIVE
            )
        )
    return made


def record(user, district: str, *, date: dt.date | None = None, girls: int = 12, boys: int = 9, **extra):  # noqa: ANN001, ANN202
    return actions.record_session(
        user,
        date=date or this_month().start,
        district=District.objects.get(pk=district),
        setting="school",
        audience="children_9_12",
        facilitating_agency=user.agency,
        participants={("female", "10_14"): girls, ("male", "10_14"): boys},
        **extra,
    )


@pytest.fixture
def channel():  # noqa: ANN201
    return create_channel(SYSTEM, name="SMS", kind="sms", provider="log", languages=["pt", "en"])


# --- The registry -------------------------------------------------------------------------------


def test_reach_indicators_are_listed_with_names_and_definitions_in_portuguese_and_english() -> None:
    listed = [i.code for i in reg.all_indicators()]
    for code in CODES:
        assert code in listed
        indicator = reg.get(code)
        assert reg.source_for(indicator.kind) is not None
        assert set(indicator.disaggregations) <= set(reg.DIMENSIONS)
        for text in (indicator.name, indicator.definition, indicator.numerator, indicator.source):
            assert isinstance(text, Promise)  # translated when shown, in the reader's language
            for language in ("pt", "en"):
                with translation.override(language):
                    assert str(text).strip()
    with translation.override("en"):
        assert str(reg.get("OUTREACH.SUBSCRIBERS.ACTIVE").name) == "Active SMS subscribers"
        assert str(reg.DIMENSIONS[reg.SETTLEMENT]) == "Urban or rural"
    assert reg.get("OUTREACH.DISTRICTS.REACHED").has_rate
    out = io.StringIO()
    call_command("indicators", "list", "--json", stdout=out)
    assert {item["code"] for item in json.loads(out.getvalue())} >= set(CODES)


def test_the_participants_age_bands_are_the_registers_own() -> None:
    codes = [code for code, _label in c.categories(reach.PARTICIPANT_AGE)]
    assert codes == ["under_10", "10_14", "15_17", "18_plus"]
    assert [code for code, _label in c.categories(reg.SETTLEMENT)] == ["urban", "rural"]


def test_registering_again_changes_nothing() -> None:
    before = [(i.code, i.kind) for i in reg.all_indicators()]
    reach.register_indicators()  # as a second AppConfig.ready() would
    assert [(i.code, i.kind) for i in reg.all_indicators()] == before
    assert reg.source_for("outreach_sessions") is reach.sessions_source


# --- Active subscribers -------------------------------------------------------------------------


def test_active_subscribers_by_province_and_language_suppress_the_small_counts(channel) -> None:  # noqa: ANN001
    subscribe(channel, language="pt", province_code="MZ07", count=7)
    subscribe(channel, language="en", province_code="MZ07", count=6)
    lone = subscribe(channel, language="en", province_code="MZ01")[0]
    month = this_month()
    by_province, by_language, cross = c.compute_linked(
        "OUTREACH.SUBSCRIBERS.ACTIVE",
        month,
        [(reg.PROVINCE,), (reg.LANGUAGE,), (reg.PROVINCE, reg.LANGUAGE)],
    )
    assert by_key(by_province, reg.PROVINCE)["MZ01"] == "<5"
    # The lone subscriber of Cabo Delgado cannot be worked out from the published figures.
    assert by_province.total.suppressed or by_key(by_province, reg.PROVINCE)["MZ07"] != "13"
    assert_no_single_hidden_cell(by_province)
    for result in (by_province, by_language, cross):
        assert_nothing_small_is_published(result)
    # The same table, suppressed the same way, as the reach page's (which counts the same people now).
    page = reach.subscribers_by_province_language()
    for row in cross.rows:
        province = row.key[reg.PROVINCE]
        page_row = page.cells[reach.UNKNOWN if province == c.NOT_RECORDED else province]
        assert row.value.display() == page_row[row.key[reg.LANGUAGE]].display()
    assert cross.total.display() == page.total.display()

    actions.stop_subscription(SYSTEM, lone)
    by_province, by_language = c.compute_linked(
        "OUTREACH.SUBSCRIBERS.ACTIVE", month, [(reg.PROVINCE,), (reg.LANGUAGE,)]
    )
    assert by_province.total.display() == "13"
    assert by_key(by_province, reg.PROVINCE)["MZ07"] == "13"
    assert by_key(by_province, reg.PROVINCE)["MZ01"] == "0"
    assert by_key(by_language, reg.LANGUAGE) | {"pt": "7", "en": "6"} == by_key(by_language, reg.LANGUAGE)


def test_active_subscribers_are_counted_at_the_end_of_each_period_not_summed(channel) -> None:  # noqa: ANN001
    month = this_month()
    before = month.previous()
    subs = subscribe(channel, language="pt", province_code="MZ07", count=7)
    # They started two months ago (the clock of the subscription is set back for the test).
    started = timezone.make_aware(dt.datetime.combine(before.previous().start, dt.time(12)))
    Subscriber.objects.filter(pk__in=[s.pk for s in subs]).update(activated_at=started)
    actions.stop_subscription(SYSTEM, subs[0])
    actions.stop_subscription(SYSTEM, subs[1])

    assert c.compute("OUTREACH.SUBSCRIBERS.ACTIVE", before).total.display() == "7"  # stopped later
    assert c.compute("OUTREACH.SUBSCRIBERS.ACTIVE", month).total.display() == "5"
    # A quarter or a year is the figure at its end, like its last month (not the sum of its months).
    for kind in ("quarter", "year"):
        period = c.Period.containing(kind, month.start)
        assert c.compute("OUTREACH.SUBSCRIBERS.ACTIVE", period).total.display() == "5"
    long_ago = before.previous().previous()
    assert c.compute("OUTREACH.SUBSCRIBERS.ACTIVE", long_ago).total.display() == "0"


# --- Messages delivered -------------------------------------------------------------------------


def test_messages_delivered_by_language_come_from_the_delivery_reports(channel, make_user) -> None:  # noqa: ANN001
    seed.seed(SYSTEM)
    approve_all(make_user("agency_supervisor", agency="mgcas"))
    subscribe(channel, language="pt", province_code="MZ07", count=7)
    subscribe(channel, language="en", province_code="MZ07")
    assert tasks.send_due(maputo(1, 9, 0)) == 8
    messages = OutboundMessage.objects.filter(pk__in=Dispatch.objects.values("message_id"))
    for out in messages:
        assert sms.delivery_report(channel, out.provider_message_id, "Success")
    undelivered = Subscriber.objects.filter(language="pt").first()
    failed = OutboundMessage.objects.get(pk=Dispatch.objects.get(subscriber=undelivered).message_id)
    OutboundMessage.objects.filter(pk=failed.pk).update(status="failed")

    result = c.compute("OUTREACH.MESSAGES.DELIVERED", this_month(), (reg.LANGUAGE,))
    cells = by_key(result, reg.LANGUAGE)
    assert cells["en"] == "<5"
    assert result.total.suppressed or cells["pt"] != "6"  # the one English message stays hidden
    assert_no_single_hidden_cell(result)
    assert_nothing_small_is_published(result)
    assert c.compute("OUTREACH.MESSAGES.DELIVERED", this_month().previous()).total.display() == "0"


# --- Sessions and participants ------------------------------------------------------------------


@pytest.fixture
def sessions(make_user):  # noqa: ANN001, ANN201
    """Five sessions in a city district, five in a rural one, each 12 girls and 9 boys aged 10-14,
    and one small session of 3 girls in a third district."""
    user = make_user("social_worker", agency="mgcas")
    for _ in range(5):
        record(user, "MZ0702", urban=True)
        record(user, "MZ0101", urban=False)
    record(user, "MZ0103", girls=3, boys=0, urban=False)
    return user


def test_sessions_held_by_district_and_urban_or_rural(sessions) -> None:  # noqa: ANN001
    month = this_month()
    total, by_district, by_area, by_province = c.compute_linked(
        "OUTREACH.SESSIONS.HELD", month, [(), (reg.DISTRICT,), (reg.SETTLEMENT,), (reg.PROVINCE,)]
    )
    districts = by_key(by_district, reg.DISTRICT)
    assert districts["MZ0103"] == "<5"
    assert districts["MZ0702"] == "5"
    assert districts["MZ0704"] == "0"
    assert by_key(by_province, reg.PROVINCE)["MZ07"] == "5"
    assert_true_or_withheld(by_key(by_area, reg.SETTLEMENT), {"urban": 5, "rural": 6})
    # 11 sessions: the single small one is hidden with a complement wherever it would follow.
    for result in (total, by_district, by_area, by_province):
        assert_nothing_small_is_published(result)
        assert_no_single_hidden_cell(result)
    assert not (districts["MZ0101"] == "5" and total.total.display() == "11")


def test_participants_by_district_area_sex_and_age_band(sessions) -> None:  # noqa: ANN001
    month = this_month()
    views = [
        (reg.DISTRICT,),
        (reg.SETTLEMENT,),
        (reg.SEX,),
        (reach.PARTICIPANT_AGE,),
        (reg.SEX, reach.PARTICIPANT_AGE),
    ]
    by_district, by_area, by_sex, by_age, sex_age = c.compute_linked("OUTREACH.PARTICIPANTS", month, views)
    districts = by_key(by_district, reg.DISTRICT)
    assert districts["MZ0103"] == "<5"
    assert districts["MZ0702"] == "105"
    assert by_key(by_area, reg.SETTLEMENT)["urban"] == "105"
    assert by_key(by_sex, reg.SEX)["male"] == "90"
    assert by_key(by_age, reach.PARTICIPANT_AGE)["18_plus"] == "0"
    for result in (by_district, by_area, by_sex, by_age, sex_age):
        assert_nothing_small_is_published(result)
        if len(result.by) == 1:
            assert_no_single_hidden_cell(result)
    # 213 people: the 3 girls of the small session cannot be worked out from the districts' figures.
    assert by_district.total.suppressed or districts["MZ0101"] == "x"
    assert_true_or_withheld(by_key(by_area, reg.SETTLEMENT), {"urban": 105, "rural": 108})
    assert_true_or_withheld(by_key(by_sex, reg.SEX), {"female": 123, "male": 90, "other": 0})


def test_a_quarter_of_sessions_is_the_sum_of_its_months(sessions) -> None:  # noqa: ANN001
    month = this_month()
    for _ in range(5):
        record(sessions, "MZ0702", date=month.previous().start)
    quarter = c.Period.containing("quarter", month.start)
    expected = "10" if month.previous().start >= quarter.start else "5"
    result = c.compute("OUTREACH.SESSIONS.HELD", quarter, (reg.DISTRICT,))
    assert by_key(result, reg.DISTRICT)["MZ0702"] == expected
    assert by_key(result, reg.DISTRICT)["MZ0103"] == "<5"


def test_sessions_are_limited_to_the_facilitating_agency(sessions) -> None:  # noqa: ANN001
    month = this_month()
    mgcas = Agency.objects.get(code="mgcas")
    sernic = Agency.objects.get(code="sernic")
    assert (
        by_key(c.compute("OUTREACH.SESSIONS.HELD", month, (reg.DISTRICT,), agency=mgcas), reg.DISTRICT)[
            "MZ0702"
        ]
        == "5"
    )
    assert c.compute("OUTREACH.SESSIONS.HELD", month, agency=sernic).total.display() == "0"


# --- Districts reached --------------------------------------------------------------------------


def test_share_of_districts_reached_in_the_last_twelve_months(make_user) -> None:  # noqa: ANN001
    user = make_user("social_worker", agency="mgcas")
    month = this_month()
    reached = ["MZ0101", "MZ0102", "MZ0103", "MZ0104"]
    for code in reached:
        record(user, code)
    record(user, "MZ0105", date=month.start - dt.timedelta(days=300))  # eleven months or so ago
    record(
        user, "MZ0106", date=month.end.replace(year=month.end.year - 1) - dt.timedelta(days=1)
    )  # too long ago
    total = District.objects.count()
    result = c.compute("OUTREACH.DISTRICTS.REACHED", month)
    assert result.total.display() == "5"
    assert result.denominator.display() == str(total)
    assert result.rate == pytest.approx(100 * 5 / total)
    # A quarter or a year is the 12 months up to its end, like its last month (never a sum of months).
    for kind in ("quarter", "year"):
        period = c.Period.containing(kind, month.start)
        last = c.months_of(period)[-1]
        longer = c.compute("OUTREACH.DISTRICTS.REACHED", period)
        assert longer.total.display() == c.compute("OUTREACH.DISTRICTS.REACHED", last).total.display()
        assert longer.total.display() in {"5", "<5"}
    # A month with fewer than five districts reached: the count is "<5" and no share is given.
    earlier = c.compute("OUTREACH.DISTRICTS.REACHED", month.previous())
    assert earlier.total.display() in {"<5", "x"}
    assert earlier.rate is None
    by_province = c.compute("OUTREACH.DISTRICTS.REACHED", month, (reg.PROVINCE,))
    assert_nothing_small_is_published(by_province)


# --- Exports ------------------------------------------------------------------------------------


def test_an_exported_reach_indicator_holds_no_number_under_five(sessions) -> None:  # noqa: ANN001
    period = this_month().key()
    out = io.StringIO()
    call_command(
        "indicators",
        "export",
        "--indicator",
        "OUTREACH.PARTICIPANTS",
        "--period",
        period,
        "--by",
        "district",
        "--by",
        "sex",
        "--format",
        "csv",
        stdout=out,
    )
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows
    assert any(row["value"] == "<5" for row in rows)
    for row in rows:
        if row["value"] not in {"<5", "x"}:
            assert int(row["value"]) == 0 or int(row["value"]) >= 5, row
    out = io.StringIO()
    call_command(
        "indicators",
        "export",
        "--indicator",
        "OUTREACH.SESSIONS.HELD",
        "--period",
        period,
        "--by",
        "district",
        "--format",
        "json",
        stdout=out,
    )
    numbers = []

    def walk(value) -> None:  # noqa: ANN001
        if isinstance(value, dict):
            if "value" in value and "display" in value:
                numbers.append(value["value"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(out.getvalue()))
    assert numbers
    assert all(n is None or n == 0 or n >= 5 for n in numbers)
    assert None in numbers  # the small session's district is withheld


# --- The observatory's pages --------------------------------------------------------------------


def test_the_dashboard_offers_and_shows_the_reach_indicators(client, make_user, sessions) -> None:  # noqa: ANN001
    from amparo.core.tests.test_web import sign_in

    sign_in(client, make_user("analyst", agency="mgcas"))
    query = {"period": this_month().key(), "indicator": "OUTREACH.SESSIONS.HELD", "by": "district"}
    response = client.get("/observatory/", query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    for code in CODES:
        assert f'value="{code}"' in body
    assert "Community awareness sessions held" in body
    assert '<td class="num">&lt;5</td>' in body  # the small session's district
