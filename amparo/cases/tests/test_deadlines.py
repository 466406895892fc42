"""Time limits of case work: the default and configured targets, due times that are the same instant
whatever the time zone they are computed in (Maputo has no daylight-saving time; other zones do), what is
overdue when, and the overdue lists per agency and per person."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from amparo.cases import actions, deadlines
from amparo.cases.actions import relations
from amparo.cases.models import Case
from amparo.conftest import SYSTEM
from amparo.core.tests.test_web import sign_in
from amparo.lib.env import ConfigError

UTC = dt.UTC
MAPUTO = ZoneInfo("Africa/Maputo")
OWNER = "linha-fala-crianca"


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):  # noqa: ANN001, ANN202
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


# ---------------------------------------------------------------------------
# Targets


@pytest.mark.parametrize(
    ("priority", "acknowledge", "act"),
    [
        ("immediate", dt.timedelta(hours=1), dt.timedelta(hours=24)),
        ("high", dt.timedelta(hours=24), dt.timedelta(hours=72)),
        ("normal", dt.timedelta(hours=72), dt.timedelta(days=14)),
    ],
)
def test_default_targets_are_the_issue_s(priority: str, acknowledge: dt.timedelta, act: dt.timedelta) -> None:
    start = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert deadlines.due_times(priority, start) == (start + acknowledge, start + act)


def test_configured_targets_override_only_the_priorities_given() -> None:
    targets = deadlines.parse_targets('{"immediate": {"acknowledge_hours": 0.5, "act_hours": 12}}')
    assert targets["immediate"] == deadlines.Target(dt.timedelta(minutes=30), dt.timedelta(hours=12))
    assert targets["high"] == deadlines.DEFAULT_TARGETS["high"]
    assert deadlines.parse_targets("  ") == deadlines.DEFAULT_TARGETS


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"urgent": {"acknowledge_hours": 1, "act_hours": 2}}',
        '{"high": {"acknowledge_hours": 1}}',
        '{"high": {"acknowledge_hours": 0, "act_hours": 2}}',
        '{"high": {"acknowledge_hours": true, "act_hours": 2}}',
        '{"high": {"acknowledge_hours": 5, "act_hours": 2}}',
        '{"high": {"acknowledge_hours": "1", "act_hours": 2}}',
    ],
)
def test_bad_target_configuration_fails_loudly(raw: str) -> None:
    with pytest.raises(ConfigError):
        deadlines.parse_targets(raw)


@pytest.mark.django_db
def test_configured_targets_are_used_for_new_cases(settings, make_case) -> None:  # noqa: ANN001
    settings.AMPARO_RESPONSE_TARGETS = deadlines.parse_targets(
        '{"high": {"acknowledge_hours": 2, "act_hours": 6}}'
    )
    received = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    case = make_case(priority="high", received_at=received)
    assert (case.acknowledge_due_at, case.action_due_at) == (
        received + dt.timedelta(hours=2),
        received + dt.timedelta(hours=6),
    )


# ---------------------------------------------------------------------------
# Time zones


def test_maputo_has_no_daylight_saving_time() -> None:
    offsets = {
        (dt.datetime(2026, 1, 1, 12, tzinfo=UTC) + dt.timedelta(days=d)).astimezone(MAPUTO).utcoffset()
        for d in range(366)
    }
    assert offsets == {dt.timedelta(hours=2)}


@pytest.mark.parametrize(
    "zone", ["Africa/Maputo", "UTC", "Europe/Lisbon", "America/Sao_Paulo", "Asia/Kolkata"]
)
def test_due_times_are_the_same_instant_whatever_the_zone_of_the_start(zone: str) -> None:
    instant = dt.datetime(2026, 3, 28, 22, 30, tzinfo=UTC)
    local = instant.astimezone(ZoneInfo(zone))
    expected = (instant + dt.timedelta(hours=24), instant + dt.timedelta(hours=72))
    assert deadlines.due_times("high", local) == expected
    assert deadlines.respond_by("high", local) == expected[0]


def test_a_day_is_24_real_hours_across_a_daylight_saving_change_elsewhere() -> None:
    """Lisbon moves its clocks forward on 29 March 2026: a high case received there the evening before is
    still due 24 elapsed hours later (not 23)."""
    start = dt.datetime(2026, 3, 28, 20, 0, tzinfo=ZoneInfo("Europe/Lisbon"))
    acknowledge, _act = deadlines.due_times("high", start)
    assert acknowledge - start.astimezone(UTC) == dt.timedelta(hours=24)
    assert acknowledge.astimezone(ZoneInfo("Europe/Lisbon")).hour == 21  # wall clock moved, time did not
    assert acknowledge.astimezone(MAPUTO) == dt.datetime(2026, 3, 29, 22, 0, tzinfo=MAPUTO)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        deadlines.due_times("high", dt.datetime(2026, 3, 28, 20, 0))  # noqa: DTZ001


# ---------------------------------------------------------------------------
# What is overdue


@pytest.mark.django_db
def test_a_case_is_overdue_only_after_its_due_instant_and_until_it_is_handled(make_case) -> None:  # noqa: ANN001
    received = dt.datetime(2026, 3, 1, 22, 30, tzinfo=MAPUTO)  # 20:30 UTC
    case = make_case(agency=OWNER, priority="immediate", received_at=received)
    ack_due = received + dt.timedelta(hours=1)
    assert case.acknowledge_due_at == ack_due
    qs = Case.objects.filter(pk=case.pk)

    assert deadlines.missed(case, ack_due) == []
    assert not deadlines.overdue_cases(qs, ack_due).exists()
    late = ack_due + dt.timedelta(microseconds=1)
    assert [m.which for m in deadlines.missed(case, late)] == ["acknowledge"]
    assert deadlines.overdue_cases(qs, late).exists()
    # The same instant written in another zone gives the same answer.
    assert deadlines.overdue_cases(qs, late.astimezone(ZoneInfo("America/Sao_Paulo"))).exists()

    # Triage acknowledges it (late, but no longer unacknowledged); acting is still due.
    actions.transition_case(SYSTEM, case, "triaged", reason="Visto.", at=received + dt.timedelta(hours=2))
    case.refresh_from_db()
    day_later = received + dt.timedelta(hours=25)
    assert [m.which for m in deadlines.missed(case, day_later)] == ["act"]
    assert deadlines.next_deadline(case) == ("act", received + dt.timedelta(hours=24))

    # Closing stops the clock.
    actions.transition_case(
        SYSTEM, case, "closed", reason="Fechado.", outcome="no_offence", at=received + dt.timedelta(hours=3)
    )
    case.refresh_from_db()
    assert deadlines.missed(case, day_later) == []
    assert not deadlines.overdue_cases(qs, day_later).exists()


@pytest.mark.django_db
def test_changing_the_priority_recomputes_the_limits_from_reception(make_case, make_user) -> None:  # noqa: ANN001
    received = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    case = make_case(agency=OWNER, priority="normal", received_at=received)
    supervisor = make_user("agency_supervisor", agency=OWNER)
    with pytest.raises(ValidationError):
        actions.set_priority(supervisor, case, "immediate", reason="  ")
    actions.set_priority(supervisor, case, "immediate", reason="Ameaça de publicar as imagens hoje.")
    case.refresh_from_db()
    assert (case.priority, case.acknowledge_due_at, case.action_due_at) == (
        "immediate",
        received + dt.timedelta(hours=1),
        received + dt.timedelta(hours=24),
    )
    assert "Ameaça de publicar" in case.notes.get().text


# ---------------------------------------------------------------------------
# Pages: times in Maputo, overdue lists per agency and per person


@pytest.mark.django_db
def test_case_page_shows_time_limits_in_maputo_time(client, make_user, make_case) -> None:  # noqa: ANN001
    received = dt.datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # 00:30 on 2 March in Maputo
    case = make_case(agency=OWNER, priority="immediate", received_at=received)
    sign_in(client, make_user("agency_supervisor", agency=OWNER))
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Times in Africa/Maputo." in body
    assert "2026-03-02 01:30" in body  # acknowledge by: 23:30 UTC
    assert "2026-03-03 00:30" in body  # act by: 22:30 UTC the next day
    assert "Not acknowledged in time: due 2026-03-02 01:30" in body


@pytest.fixture
def overdue_world(make_case, make_user):  # noqa: ANN001, ANN201
    long_ago = dt.datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    supervisor = make_user("agency_supervisor", agency=OWNER, username="chefe")
    ana = make_user("intake_officer", agency=OWNER, username="ana")
    rui = make_user("intake_officer", agency=OWNER, username="rui")
    cases = {
        "ana_late": make_case(agency=OWNER, received_at=long_ago),
        "rui_late": make_case(agency=OWNER, received_at=long_ago),
        "nobody_late": make_case(agency=OWNER, received_at=long_ago),
        "fresh": make_case(agency=OWNER),
        "closed": make_case(agency=OWNER, received_at=long_ago),
        "merged": make_case(agency=OWNER, received_at=long_ago),
        "foreign": make_case(agency="sernic", received_at=long_ago),
    }
    actions.assign_case(SYSTEM, cases["ana_late"], ana)
    actions.assign_case(SYSTEM, cases["rui_late"], rui)
    actions.assign_case(SYSTEM, cases["fresh"], ana)
    actions.transition_case(SYSTEM, cases["closed"], "closed", reason="Fechado.", outcome="no_offence")
    relations.merge_case(SYSTEM, cases["merged"], cases["nobody_late"])
    return {"supervisor": supervisor, "ana": ana, "rui": rui, **cases}


def _listed(client, url: str, world: dict) -> set[str]:  # noqa: ANN001
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    return {key for key, value in world.items() if isinstance(value, Case) and value.reference in body}


@pytest.mark.django_db
def test_overdue_list_of_the_agency_shows_its_late_open_cases_only(client, overdue_world) -> None:  # noqa: ANN001
    sign_in(client, overdue_world["supervisor"])
    # Assigned cases were acknowledged by the assignment but not acted on in 14 days: still overdue.
    assert _listed(client, "/cases/overdue/", overdue_world) == {"ana_late", "rui_late", "nobody_late"}
    body = client.get("/cases/overdue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Times in Africa/Maputo." in body
    assert "2026-01-13 10:00" in body  # acknowledge by: 72 h after 08:00 UTC on 10 January, in Maputo
    assert "2026-01-24 10:00" in body  # act by: 14 days after
    assert 'datetime="2026-01-24T08:00:00+00:00"' in body  # the machine-readable instant, in UTC


@pytest.mark.django_db
def test_overdue_list_per_person(client, overdue_world) -> None:  # noqa: ANN001
    ana, rui = overdue_world["ana"], overdue_world["rui"]
    sign_in(client, ana)
    assert _listed(client, "/cases/overdue/?mine=1", overdue_world) == {"ana_late"}
    # Only a supervisor looks at a colleague's list.
    assert client.get(f"/cases/overdue/?person={rui.pk}").status_code == 403
    client.logout()

    sign_in(client, overdue_world["supervisor"])
    body = client.get("/cases/overdue/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="/cases/overdue/?person={ana.pk}"' in body
    assert f'href="/cases/overdue/?person={rui.pk}"' in body
    assert _listed(client, f"/cases/overdue/?person={rui.pk}", overdue_world) == {"rui_late"}
    assert _listed(client, f"/cases/overdue/?person={ana.pk}", overdue_world) == {"ana_late"}


@pytest.mark.django_db
def test_overdue_list_of_a_person_of_another_agency_is_not_found(client, overdue_world, make_user) -> None:  # noqa: ANN001
    stranger = make_user("investigator", agency="sernic")
    sign_in(client, overdue_world["supervisor"])
    assert client.get(f"/cases/overdue/?person={stranger.pk}").status_code == 404
    assert client.get("/cases/overdue/?person=not-an-id").status_code == 404


@pytest.mark.django_db
def test_overdue_list_is_refused_to_roles_without_case_work(client, make_user) -> None:  # noqa: ANN001
    sign_in(client, make_user("analyst", agency=OWNER))
    assert client.get("/cases/overdue/").status_code == 403
    assert client.get("/cases/mine/").status_code == 403


@pytest.mark.django_db
def test_my_cases_lists_the_open_cases_assigned_to_me_late_ones_first(client, overdue_world) -> None:  # noqa: ANN001
    sign_in(client, overdue_world["ana"])
    body = client.get("/cases/mine/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    late, fresh = overdue_world["ana_late"].reference, overdue_world["fresh"].reference
    assert late in body
    assert fresh in body
    assert body.index(late) < body.index(fresh)
    assert overdue_world["rui_late"].reference not in body


@pytest.mark.django_db
def test_supervisor_reassigns_from_the_case_page(client, overdue_world) -> None:  # noqa: ANN001
    case, rui = overdue_world["ana_late"], overdue_world["rui"]
    sign_in(client, overdue_world["ana"])
    assert client.post(f"/cases/{case.reference}/assign/", {"assignee": rui.pk}).status_code == 403
    client.logout()
    sign_in(client, overdue_world["supervisor"])
    client.post(f"/cases/{case.reference}/assign/", {"assignee": rui.pk})
    assert Case.objects.get(pk=case.pk).assigned_to_id == rui.pk
