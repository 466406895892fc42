"""Indicator values against hand-computed fixtures: counts, shares, medians, the funnel, scoping."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from amparo.cases import actions
from amparo.cases.tests.fixtures import given_consent
from amparo.core import audit
from amparo.core.models import Agency, District
from amparo.observatory.compute import Period, compute, compute_linked, funnel, series

SYSTEM = audit.Actor.system("tests")
MAPUTO = ZoneInfo("Africa/Maputo")
MARCH = Period.parse("2026-03")

# The investigation path through the workflow, then the stages of the funnel beyond it.
TO_INVESTIGATION = ("triaged", "assigned", "under_investigation")


def at(day: int, hour: int = 10, month: int = 3, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=MAPUTO)


def new_case(
    received: dt.datetime,
    *,
    agency: str = "linha-fala-crianca",
    district: str | None = "MZ0702",
    channel: str = "helpline",
    forms: tuple[str, ...] = ("grooming",),
    platforms: tuple[str, ...] = ("whatsapp",),
):  # noqa: ANN201
    return actions.create_case(
        SYSTEM,
        channel=channel,
        owning_agency=Agency.objects.get(code=agency),
        district=District.objects.get(pk=district) if district else None,
        forms=forms,
        platforms=platforms,
        received_at=received,
    )


def advance(case, steps: tuple[str, ...], start: dt.datetime, hours: float = 1.0) -> dt.datetime:  # noqa: ANN001
    """Walk a case through ``steps``, one every ``hours`` after ``start``; returns the last time."""
    when = start
    for step in steps:
        when = when + dt.timedelta(hours=hours)
        outcome = "convicted" if step == "closed" else ""
        actions.transition_case(SYSTEM, case, step, reason="test", outcome=outcome, at=when)
    return when


def reach(case, stage: str, received: dt.datetime) -> None:  # noqa: ANN001
    paths = {
        "report": (),
        "investigation": TO_INVESTIGATION,
        "prosecution": (*TO_INVESTIGATION, "with_prosecutor"),
        "court": (*TO_INVESTIGATION, "with_prosecutor", "in_court"),
        "conviction": (*TO_INVESTIGATION, "with_prosecutor", "in_court", "closed"),
    }
    advance(case, paths[stage], received)


def published(result) -> dict[str, str]:  # noqa: ANN001
    return {"|".join(row.key.values()): row.value.display() for row in result.rows}


@pytest.mark.django_db
def test_reports_are_counted_in_the_month_they_were_received_in_maputo_time() -> None:
    for _ in range(5):
        new_case(at(31, 23))  # 23:00 in Maputo on 31 March is 21:00 UTC: March
    for _ in range(6):
        new_case(at(1, 0, month=4))  # just after midnight in Maputo on 1 April, still 31 March in UTC
    assert compute("OCSEA.REPORTS.RECEIVED", MARCH).total.display() == "5"
    assert compute("OCSEA.REPORTS.RECEIVED", Period.parse("2026-04")).total.display() == "6"
    assert compute("OCSEA.REPORTS.RECEIVED", Period.parse("2026Q1")).total.display() == "5"
    assert compute("OCSEA.REPORTS.RECEIVED", Period.parse("2026")).total.display() == "11"


@pytest.mark.django_db
def test_small_province_count_is_suppressed_with_a_complement() -> None:
    for _ in range(3):
        new_case(at(2), district="MZ0702")  # Nampula province
    for _ in range(9):
        new_case(at(3), district="MZ1102")  # Maputo City
    result = compute("OCSEA.REPORTS.RECEIVED", MARCH, ("province",))
    rows = {row.key["province"]: row for row in result.rows}
    assert rows["MZ07"].value.display() == "<5"
    assert rows["MZ11"].value.display() == "x"  # the complement: otherwise 12 - 9 gives it away
    assert result.total.display() == "12"
    assert all(row.value.display() == "0" for code, row in rows.items() if code not in {"MZ07", "MZ11"})


@pytest.mark.django_db
def test_cases_by_form_count_every_form_of_a_case(english) -> None:
    for _ in range(5):
        new_case(at(4), forms=("grooming", "sextortion"))
    for _ in range(6):
        new_case(at(4), forms=("sextortion",))
    result = compute("OCSEA.CASES.FORM", MARCH, ("form",))
    assert published(result)["grooming"] == "5"
    assert published(result)["sextortion"] == "11"
    assert result.total.display() == "16"  # mentions, and the note says so
    assert "several categories" in result.note


@pytest.mark.django_db
def test_child_victims_by_sex_and_age_band_exclude_adults() -> None:
    for i in range(12):
        case = new_case(at(5))
        actions.add_person(SYSTEM, case, role="victim", age=13, sex="female" if i < 7 else "male")
        actions.add_person(SYSTEM, case, role="victim", age=30, sex="female")  # an adult victim
    result = compute("OCSEA.VICTIMS.CHILD", MARCH, ("sex", "age_band"))
    cells = {(row.key["sex"], row.key["age_band"]): row.value.display() for row in result.rows}
    assert cells[("female", "12-14")] == "7"
    assert cells[("male", "12-14")] == "5"
    assert result.total.display() == "12"
    assert {m.key.get("sex"): m.value.display() for m in result.margins if "sex" in m.key}["female"] == "7"


@pytest.mark.django_db
def test_offenders_known_or_unknown_use_the_record_then_the_relationship() -> None:
    case = new_case(at(6))
    for _ in range(5):
        actions.add_person(SYSTEM, case, role="offender", relationship="family")
    for _ in range(6):
        actions.add_person(SYSTEM, case, role="offender", relationship="stranger")
    for _ in range(5):  # recorded as known although the relationship is online only
        actions.add_person(SYSTEM, case, role="offender", relationship="online_only", known_to_child=True)
    result = compute("OCSEA.OFFENDERS.KNOWN", MARCH, ("known",))
    assert published(result) == {"known": "10", "unknown": "6", "not_recorded": "0"}


@pytest.mark.django_db
def test_disclosure_counts_each_person_told_on_any_database() -> None:
    for i in range(16):
        case = new_case(at(7))
        told = ["no_one"] if i < 6 else ["friend", "teacher"] if i < 11 else []
        actions.add_person(SYSTEM, case, role="victim", age=15, sex="female", disclosure=told)
    result = compute("OCSEA.VICTIMS.DISCLOSURE", MARCH, ("disclosure",))
    assert published(result)["no_one"] == "6"
    assert published(result)["friend"] == "5"
    assert published(result)["teacher"] == "5"
    assert published(result)["sibling"] == "0"
    share = compute("OCSEA.VICTIMS.TOLD_NO_ONE", MARCH)
    assert share.total.display() == "6"
    assert share.denominator.display() == "11"  # the five with nothing recorded are left out
    assert share.rate == pytest.approx(600 / 11)


@pytest.mark.django_db
def test_share_reaching_police_within_72_hours() -> None:
    prm = Agency.objects.get(code="prm")
    for _ in range(5):
        case = new_case(at(8))
        actions.refer_case(
            SYSTEM, case, prm, reason="test", consent=given_consent(case, at=at(8, 20)), at=at(8, 20)
        )  # 10 hours later
    new_case(at(8), agency="prm")  # received by the police itself
    for _ in range(3):
        case = new_case(at(8))
        actions.refer_case(
            SYSTEM, case, prm, reason="test", consent=given_consent(case, at=at(12, 14)), at=at(12, 14)
        )  # 100 hours later
    for _ in range(2):
        new_case(at(8))
    result = compute("OCSEA.REFERRAL.POLICE_72H", MARCH)
    assert result.total.display() == "6"
    assert result.denominator.display() == "11"
    assert result.rate == pytest.approx(600 / 11)


@pytest.mark.django_db
def test_share_is_withheld_when_the_numerator_is_small() -> None:
    prm = Agency.objects.get(code="prm")
    case = new_case(at(8))
    actions.refer_case(
        SYSTEM, case, prm, reason="test", consent=given_consent(case, at=at(8, 12)), at=at(8, 12)
    )
    for _ in range(9):
        new_case(at(8))
    result = compute("OCSEA.REFERRAL.POLICE_72H", MARCH)
    assert result.total.display() == "<5"
    assert result.rate is None


@pytest.mark.django_db
def test_median_days_to_investigation_interpolates_between_the_middle_two() -> None:
    for days in (1, 2, 3, 4, 10, 20):
        case = new_case(at(1))
        advance(case, TO_INVESTIGATION, at(1), hours=days * 24 / 3)
    result = compute("OCSEA.DAYS.INVESTIGATION", MARCH)
    assert result.total.display() == "6"
    assert result.median == pytest.approx(3.5)
    by_province = compute("OCSEA.DAYS.INVESTIGATION", MARCH, ("province",))
    nampula = next(row for row in by_province.rows if row.key["province"] == "MZ07")
    assert nampula.median == pytest.approx(3.5)


@pytest.mark.django_db
def test_median_days_to_charge_and_verdict_and_referral() -> None:
    sernic = Agency.objects.get(code="sernic")
    for days in (2, 4, 6, 8, 10):
        case = new_case(at(1))
        actions.refer_case(
            SYSTEM,
            case,
            sernic,
            reason="test",
            consent=given_consent(case, at=at(1) + dt.timedelta(days=days)),
            at=at(1) + dt.timedelta(days=days),
        )
        # five steps to court, one every `days` days; then the verdict a day later
        when = advance(
            case,
            (*TO_INVESTIGATION, "with_prosecutor", "in_court"),
            at(1) + dt.timedelta(days=days),
            hours=24 * days,
        )
        actions.transition_case(
            SYSTEM, case, "closed", reason="test", outcome="acquitted", at=when + dt.timedelta(days=1)
        )
    year = Period.parse("2026")
    assert compute("OCSEA.DAYS.REFERRAL", year).median == pytest.approx(6)
    # charge: referral + 4 steps of `days` days = 5 * days; median over 10, 20, 30, 40, 50
    assert compute("OCSEA.DAYS.CHARGE", year).median == pytest.approx(30)
    # verdict: referral + 5 steps + 1 day = 6 * days + 1; median over 13, 25, 37, 49, 61
    assert compute("OCSEA.DAYS.VERDICT", year).median == pytest.approx(37)


@pytest.mark.django_db
def test_median_is_withheld_when_fewer_than_five_cases_are_measured() -> None:
    for days in (1, 2, 3):
        advance(new_case(at(1)), TO_INVESTIGATION, at(1), hours=days * 8)
    result = compute("OCSEA.DAYS.INVESTIGATION", MARCH)
    assert result.total.display() == "<5"
    assert result.median is None


@pytest.mark.django_db
def test_funnel_counts_how_far_the_month_cohort_has_gone() -> None:
    for stage in ("report", "investigation", "prosecution", "conviction"):
        for _ in range(5):
            reach(new_case(at(10)), stage, at(10))
    stages = [(code, cell.display()) for code, _label, cell in funnel(MARCH)]
    assert stages == [
        ("report", "20"),
        ("investigation", "15"),
        ("prosecution", "10"),
        ("court", "5"),
        ("conviction", "5"),
    ]
    result = compute("OCSEA.FUNNEL", MARCH)
    assert [row.rate for row in result.rows] == [100.0, 75.0, 50.0, 25.0, 25.0]


@pytest.mark.django_db
def test_funnel_hides_a_stage_that_would_reveal_a_small_drop() -> None:
    for _ in range(10):
        reach(new_case(at(10)), "report", at(10))
    for _ in range(8):
        reach(new_case(at(10)), "investigation", at(10))
    for _ in range(2):  # two convictions: a small count
        reach(new_case(at(10)), "conviction", at(10))
    cells = {code: cell for code, _label, cell in funnel(MARCH)}
    assert cells["report"].display() == "20"
    assert cells["conviction"].display() == "<5"
    shown = [cell.published for cell in cells.values() if cell.published is not None]
    assert all(not 0 < value < 5 for value in shown)
    # no two published cumulative counts differ by a small number (that difference is a stage)
    assert all(not 0 < abs(a - b) < 5 for a in shown for b in shown)


@pytest.mark.django_db
def test_agency_scope_counts_owned_and_accepted_referrals_only() -> None:
    sernic = Agency.objects.get(code="sernic")
    for _ in range(5):
        new_case(at(11), agency="sernic")
    for i in range(9):
        case = new_case(at(11))
        referral = actions.refer_case(
            SYSTEM, case, sernic, reason="test", consent=given_consent(case, at=at(11, 12)), at=at(11, 12)
        )
        actions.decide_referral(
            SYSTEM, referral, accept=i < 6, reason="" if i < 6 else "not ours", at=at(11, 13)
        )
    assert compute("OCSEA.REPORTS.RECEIVED", MARCH, agency=sernic).total.display() == "11"
    assert compute("OCSEA.REPORTS.RECEIVED", MARCH).total.display() == "14"
    linha = Agency.objects.get(code="linha-fala-crianca")
    assert compute("OCSEA.REPORTS.RECEIVED", MARCH, agency=linha).total.display() == "9"


@pytest.mark.django_db
def test_unavailable_source_gives_a_note_and_no_number(english, monkeypatch) -> None:
    """An indicator whose source is not recorded (the registry says so) gets a note, never a number;
    nothing is read from the database for it."""
    from dataclasses import replace

    from amparo.observatory import indicators as reg

    for _ in range(7):
        new_case(at(3))
    missing = replace(reg.get("OCSEA.REPORTS.RECEIVED"), available=False)
    monkeypatch.setitem(reg.REGISTRY, missing.code, missing)
    result = compute(missing.code, MARCH, ("province",))
    assert not result.available
    assert "not yet recorded" in result.note
    assert result.total.published is None
    assert result.rows == []


@pytest.mark.django_db
def test_every_registered_indicator_has_a_recorded_source_now() -> None:
    """Case work (justice events, rights deliveries), evidence (matches, take-down notices) and the
    training register all exist: no indicator of the registry is left without a source."""
    from amparo.observatory import indicators as reg

    for indicator in reg.all_indicators():
        result = compute(indicator.code, MARCH)
        assert result.available, indicator.code


@pytest.mark.django_db
def test_breakdown_outside_the_registry_is_refused(english) -> None:
    with pytest.raises(ValueError, match="can be broken down by"):
        compute("OCSEA.REPORTS.RECEIVED", MARCH, ("sex",))


@pytest.mark.django_db
def test_series_gives_each_period_its_own_protected_total() -> None:
    for _ in range(7):
        new_case(at(3))
    new_case(at(3, month=2))
    totals = [cell.display() for _period, cell in series("OCSEA.REPORTS.RECEIVED", [MARCH.previous(), MARCH])]
    assert totals == ["<5", "7"]


@pytest.mark.django_db
def test_linked_breakdowns_share_one_protected_total() -> None:
    for _ in range(3):
        new_case(at(2), district="MZ0702", channel="sms")
    for _ in range(9):
        new_case(at(2), district="MZ1102", channel="helpline")
    by_province, by_channel, total = compute_linked(
        "OCSEA.REPORTS.RECEIVED", MARCH, [("province",), ("channel",), ()]
    )
    assert total.total.display() == by_province.total.display() == by_channel.total.display()
    assert published(by_channel)["sms"] == "<5"
    assert published(by_province)["MZ07"] == "<5"


@pytest.mark.django_db
def test_province_and_district_published_together_cannot_be_differenced() -> None:
    for _ in range(3):
        new_case(at(2), district="MZ0701")  # Nampula province, a small district
    for _ in range(9):
        new_case(at(2), district="MZ0702")  # Nampula province, its capital
    for _ in range(8):
        new_case(at(2), district="MZ1102")
    by_province, by_district = compute_linked("OCSEA.REPORTS.RECEIVED", MARCH, [("province",), ("district",)])
    districts = published(by_district)
    provinces = published(by_province)
    assert districts["MZ0701"] == "<5"
    # Nampula's total minus its published districts must not give the small district back.
    shown = [districts[code] for code in districts if code.startswith("MZ07")]
    assert provinces["MZ07"] in ("<5", "x") or sum(1 for v in shown if not v.isdigit()) >= 2


@pytest.mark.django_db
def test_funnel_of_a_tiny_cohort_withholds_every_stage() -> None:
    for stage in ("report", "investigation", "prosecution", "court"):
        reach(new_case(at(10)), stage, at(10))
    cells = [cell for _code, _label, cell in funnel(MARCH)]
    assert [cell.display() for cell in cells] == ["<5", "<5", "<5", "<5", "x"]
