"""Indicators fed by case work and evidence, against hand-computed fixtures: the funnel and the
medians from justice events, the rights information share, international referrals (CyberTipline
reports arrive on the international channel) and the time to content removal."""

from __future__ import annotations

import datetime as dt

import pytest

from amparo.cases import actions
from amparo.cases.actions.justice import record_justice_event
from amparo.cases.tests.fixtures import given_consent
from amparo.core.models import Agency
from amparo.observatory.compute import Period, compute, funnel
from amparo.observatory.tests.test_compute import MARCH, SYSTEM, TO_INVESTIGATION, advance, at, new_case


def justice(case, kind: str, when: dt.datetime, **extra: str) -> None:  # noqa: ANN001
    record_justice_event(SYSTEM, case, kind=kind, occurred_at=when, **extra)


@pytest.mark.django_db
def test_funnel_counts_justice_events_as_stages_reached() -> None:
    """5 cases stay at the report, 5 have an investigation opened, 5 charges filed, 5 a court case
    and a conviction recorded only as justice events (their status never moved)."""
    for _ in range(5):
        new_case(at(10))
    for _ in range(5):
        justice(new_case(at(10)), "investigation_opened", at(11))
    for _ in range(5):
        justice(new_case(at(10)), "charges_filed", at(12))
    for _ in range(5):
        case = new_case(at(10))
        justice(case, "court_case_registered", at(13), court_case_number="P-1/26")
        justice(case, "verdict", at(14), verdict="convicted")
    stages = [(code, cell.display()) for code, _label, cell in funnel(MARCH)]
    assert stages == [
        ("report", "20"),
        ("investigation", "15"),
        ("prosecution", "10"),
        ("court", "5"),
        ("conviction", "5"),
    ]


@pytest.mark.django_db
def test_an_acquittal_reaches_court_but_not_conviction() -> None:
    """A verdict recorded as a justice event means the case went to court; only a conviction
    reaches the last stage. Every later stage implies the earlier ones."""
    for _ in range(10):
        justice(new_case(at(10)), "verdict", at(12), verdict="acquitted")
    for _ in range(5):
        justice(new_case(at(10)), "verdict", at(12), verdict="convicted")
    for _ in range(5):
        new_case(at(10))
    cells = {code: cell.display() for code, _label, cell in funnel(MARCH)}
    assert cells == {
        "report": "20",
        "investigation": "15",
        "prosecution": "15",
        "court": "15",
        "conviction": "5",
    }


@pytest.mark.django_db
def test_median_days_to_charge_takes_the_earlier_of_the_event_and_the_status_change() -> None:
    # charges filed 3, 6, 9, 12 and 15 days after the report, by a justice event ...
    for days in (3, 6, 9, 12, 15):
        case = new_case(at(1))
        justice(case, "charges_filed", at(1) + dt.timedelta(days=days))
    # ... and one case whose status reached the prosecutor after 1 day, its event after 20 days.
    case = new_case(at(1))
    advance(case, (*TO_INVESTIGATION, "with_prosecutor"), at(1), hours=6)  # with the prosecutor at 24 h
    justice(case, "charges_filed", at(21))
    result = compute("OCSEA.DAYS.CHARGE", MARCH)
    assert result.total.display() == "6"
    assert result.median == pytest.approx((6 + 9) / 2)  # over 1, 3, 6, 9, 12, 15


@pytest.mark.django_db
def test_median_days_to_verdict_from_verdict_events_counts_convictions_and_acquittals_only() -> None:
    for days, verdict in (
        (10, "convicted"),
        (20, "acquitted"),
        (30, "convicted"),
        (40, "convicted"),
        (50, "acquitted"),
    ):
        justice(new_case(at(1)), "verdict", at(1) + dt.timedelta(days=days), verdict=verdict)
    justice(new_case(at(1)), "verdict", at(2), verdict="dismissed")  # not a verdict on the merits
    result = compute("OCSEA.DAYS.VERDICT", Period.parse("2026Q2"))  # 40 and 50 days: April
    assert result.total.display() == "<5"
    assert result.median is None
    year = compute("OCSEA.DAYS.VERDICT", Period.parse("2026"))
    assert year.median == pytest.approx(30)
    # the year's count is the sum of its months: March 3, April 2, so withheld; the median is shown
    # because five verdicts are behind it.
    assert year.total.suppressed


@pytest.mark.django_db
def test_rights_information_share_counts_each_child_given_the_package() -> None:
    victims = []
    for _ in range(12):
        case = new_case(at(5))
        victims.append(actions.add_person(SYSTEM, case, role="victim", age=10, sex="female"))
    for victim in victims[:5]:  # given to the child, by name
        actions.record_rights_delivery(
            SYSTEM, victim.case, audience="child", method="printed", language="pt", person=victim, at=at(6)
        )
    for victim in victims[5:7]:  # given to the caregiver: covers the child
        actions.record_rights_delivery(
            SYSTEM, victim.case, audience="caregiver", method="sms", language="pt", at=at(6)
        )
    actions.record_rights_delivery(  # given for the case, naming nobody
        SYSTEM, victims[7].case, audience="child", method="verbal", language="pt", at=at(6)
    )
    # two children in one case; the package is given to the first one by name only
    case = new_case(at(5))
    first = actions.add_person(SYSTEM, case, role="victim", age=9, sex="male")
    actions.add_person(SYSTEM, case, role="victim", age=12, sex="male")
    actions.record_rights_delivery(
        SYSTEM, case, audience="child", method="printed", language="pt", person=first, at=at(6)
    )
    result = compute("OCSEA.VICTIMS.RIGHTS_INFO", MARCH)
    assert result.available
    assert result.total.display() == "9"  # 5 by name, 2 through the caregiver, 1 for the case, 1 of 2
    assert result.denominator.display() == "14"
    assert result.rate == pytest.approx(900 / 14)


@pytest.mark.django_db
def test_international_referrals_received_and_acted_on() -> None:
    sernic = Agency.objects.get(code="sernic")
    intl = [new_case(at(4), channel="international") for _ in range(11)]
    for _ in range(5):
        new_case(at(4))  # the helpline: not international
    for case in intl[:2]:
        actions.refer_case(
            SYSTEM, case, sernic, reason="test", consent=given_consent(case, at=at(5)), at=at(5)
        )
    for case in intl[2:4]:
        advance(case, TO_INVESTIGATION, at(4))
    for case in intl[4:6]:
        justice(case, "investigation_opened", at(6))
    assert compute("OCSEA.INTL.RECEIVED", MARCH).total.display() == "11"
    acted = compute("OCSEA.INTL.ACTED_ON", MARCH)
    assert acted.total.display() == "6"
    assert acted.denominator.display() == "11"
    assert acted.rate == pytest.approx(600 / 11)


@pytest.mark.django_db
def test_median_days_to_content_removal_from_takedown_notices() -> None:
    from amparo.evidence.models import TakedownNotice, TakedownStatus

    case = new_case(at(1))

    def notice(requested: dt.datetime, removed: dt.datetime | None, platform: str = "facebook") -> None:
        # The take-down actions stamp the current time; a fixture needs past dates, so rows are made here.
        TakedownNotice.objects.create(
            case=case,
            url="https://example.invalid/x",
            platform=platform,
            requested_at=requested,
            removed_at=removed,
            answered_at=removed,
            status=TakedownStatus.REMOVED if removed else TakedownStatus.SENT,
            answer_note="",
        )

    for days in (1, 2, 3, 4, 10):
        notice(at(2), at(2) + dt.timedelta(days=days))
    notice(at(2), None)  # not removed: not measured
    notice(at(2, month=2), at(20, month=4))  # removed in April: another period
    result = compute("OCSEA.DAYS.REMOVAL", MARCH)
    assert result.available
    assert result.total.display() == "5"
    assert result.median == pytest.approx(3)
    by_platform = compute("OCSEA.DAYS.REMOVAL", MARCH, ("platform",))
    facebook = next(row for row in by_platform.rows if row.key["platform"] == "facebook")
    assert facebook.median == pytest.approx(3)
