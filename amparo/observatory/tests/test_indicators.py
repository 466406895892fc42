"""The indicator registry, Period parsing (property-tested) and who may see statistics."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from amparo.core.models import Agency
from amparo.core.policy import can
from amparo.observatory import compute as c
from amparo.observatory import indicators as reg
from amparo.observatory.permissions import ObservatoryPermission

ISSUE_LIST = {
    "OCSEA.REPORTS.RECEIVED",
    "OCSEA.CASES.FORM",
    "OCSEA.CASES.PLATFORM",
    "OCSEA.VICTIMS.CHILD",
    "OCSEA.OFFENDERS.KNOWN",
    "OCSEA.VICTIMS.DISCLOSURE",
    "OCSEA.REFERRAL.POLICE_72H",
    "OCSEA.DAYS.REFERRAL",
    "OCSEA.DAYS.INVESTIGATION",
    "OCSEA.DAYS.CHARGE",
    "OCSEA.DAYS.VERDICT",
    "OCSEA.FUNNEL",
    "OCSEA.INTL.RECEIVED",
    "OCSEA.INTL.ACTED_ON",
    "OCSEA.HASH.MATCHES",
    "OCSEA.DAYS.REMOVAL",
    "OCSEA.VICTIMS.RIGHTS_INFO",
    "OCSEA.TRAINING.OFFICERS",
}


def test_registry_covers_the_issue_with_unique_stable_codes() -> None:
    codes = [i.code for i in reg.all_indicators()]
    assert len(codes) == len(set(codes))
    assert set(codes) >= ISSUE_LIST
    assert all(code.startswith(("OCSEA.", "OUTREACH.")) and code == code.upper() for code in codes)


def test_every_indicator_is_fully_described(english) -> None:
    for indicator in reg.all_indicators():
        assert str(indicator.name)
        assert str(indicator.definition)
        assert str(indicator.numerator)
        assert indicator.unit in reg.UNITS
        assert set(indicator.disaggregations) <= set(reg.DIMENSIONS)
        assert indicator.version
        assert (indicator.denominator is not None) == (indicator.unit == reg.PERCENT)
        if not indicator.available:
            assert "not yet recorded" in str(indicator.note)


@pytest.mark.django_db
def test_every_disaggregation_has_categories_with_labels() -> None:
    for dimension in set(reg.DIMENSIONS) - {reg.PERIOD}:
        pairs = c.categories(dimension)
        assert pairs
        assert all(code and label for code, label in pairs)
        assert len({code for code, _ in pairs}) == len(pairs)


@pytest.mark.django_db
def test_every_indicator_and_allowed_breakdown_computes_on_an_empty_database() -> None:
    period = c.Period.parse("2026-01")
    for indicator in reg.all_indicators():
        for by in [(), *((d,) for d in indicator.disaggregations)]:
            result = c.compute(indicator.code, period, by)
            assert result.available == indicator.available
            if result.available:
                assert result.total.display() == "0"


def test_unknown_code_is_a_lookup_error() -> None:
    with pytest.raises(reg.UnknownIndicator):
        reg.get("OCSEA.NOPE")


def test_list_command_prints_codes_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("indicators", "list")
    assert "OCSEA.FUNNEL" in capsys.readouterr().out
    call_command("indicators", "list", "--json")
    listed = json.loads(capsys.readouterr().out)
    assert {item["code"] for item in listed} == set(reg.REGISTRY)


# --- Periods ----------------------------------------------------------------------------------------

periods = st.one_of(
    st.builds(c.Period.month, st.integers(c.MIN_YEAR, c.MAX_YEAR), st.integers(1, 12)),
    st.builds(c.Period.quarter, st.integers(c.MIN_YEAR, c.MAX_YEAR), st.integers(1, 4)),
    st.builds(c.Period.year, st.integers(c.MIN_YEAR, c.MAX_YEAR)),
)


@given(periods)
def test_period_text_forms_read_back_to_the_same_period(period: c.Period) -> None:
    assert c.Period.parse(period.key()) == period
    assert c.Period.parse(period.dhis2()) == period
    assert period.start < period.end


@given(periods, st.integers(0, 40))
def test_previous_periods_are_adjacent_and_disjoint(period: c.Period, n: int) -> None:
    earlier = period.previous(n)
    assert earlier.kind == period.kind
    if n:
        assert earlier.end <= period.start
    assert period.previous(n + 1).end == earlier.start


@given(st.text(max_size=12))
def test_parse_accepts_only_periods_and_says_what_it_accepts(text: str) -> None:
    try:
        period = c.Period.parse(text)
    except ValueError as exc:
        message = str(exc)
    else:
        assert text.strip().upper().replace("-", "") == period.dhis2()
        return
    assert "2026Q3" in message


@given(
    st.dates(dt.date(c.MIN_YEAR, 1, 1), dt.date(c.MAX_YEAR, 12, 31)),
    st.sampled_from(["month", "quarter", "year"]),
)
def test_every_day_falls_in_exactly_its_period(day: dt.date, kind: str) -> None:
    period = c.Period.containing(kind, day)
    assert period.start <= day < period.end


def test_examples_of_period_forms() -> None:
    assert c.Period.parse("2026-10") == c.Period.parse("202610") == c.Period.month(2026, 10)
    assert c.Period.parse("2026q3").start == dt.date(2026, 7, 1)
    assert c.Period.parse("2026").end == dt.date(2027, 1, 1)
    assert c.Period.parse("2026-01").previous().key() == "2025-12"
    assert c.Period.parse("2026Q1").previous().key() == "2025Q4"
    for bad in ("2026-13", "2026Q5", "26", "1899", "2026-1", ""):
        with pytest.raises(ValueError, match="2026Q3"):
            c.Period.parse(bad)


# --- Who sees statistics -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_national_coordinator_and_national_analyst_see_the_country(make_user) -> None:  # noqa: ANN001
    assert can(make_user("national_coordinator", agency="mgcas"), ObservatoryPermission.VIEW_NATIONAL)
    assert can(make_user("analyst", agency="mgcas"), ObservatoryPermission.VIEW_NATIONAL)


@pytest.mark.django_db
def test_provincial_analyst_does_not_see_national_figures(make_user) -> None:  # noqa: ANN001
    analyst = make_user("analyst", agency="mgcas", scope_level="province", scope_province="MZ07")
    assert not can(analyst, ObservatoryPermission.VIEW_NATIONAL)


@pytest.mark.django_db
def test_supervisor_sees_only_their_own_agency(make_user) -> None:  # noqa: ANN001
    supervisor = make_user("agency_supervisor", agency="sernic")
    assert can(supervisor, ObservatoryPermission.VIEW_AGENCY, Agency.objects.get(code="sernic"))
    assert not can(supervisor, ObservatoryPermission.VIEW_AGENCY, Agency.objects.get(code="prm"))
    assert not can(supervisor, ObservatoryPermission.VIEW_NATIONAL)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["investigator", "helpline_operator", "auditor", "sysadmin"])
def test_case_and_other_roles_see_no_statistics(make_user, role: str) -> None:  # noqa: ANN001
    user = make_user(role, agency="sernic")
    assert not can(user, ObservatoryPermission.VIEW_NATIONAL)
    assert not can(user, ObservatoryPermission.VIEW_AGENCY, user.agency)
    assert not can(user, ObservatoryPermission.EXPORT, None)
    assert not can(user, ObservatoryPermission.DHIS2_MANAGE)
