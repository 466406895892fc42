"""The national action tracker: seeded from the way forward, edited only by the national
coordinator through audited actions, with stalls and training gaps at a glance."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import hypothesis
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import strategies as st

from amparo.conftest import SYSTEM
from amparo.core.models import Agency, AuditEntry, District, Province
from amparo.core.tests.test_web import sign_in
from amparo.observatory import actions, tracker
from amparo.observatory.models import Action, ActionStatus, Pillar, TrainingParticipant
from amparo.observatory.tests.test_dashboard import _static_root  # noqa: F401  (fixture)
from amparo.observatory.tracker import TrackerAudit

TODAY = dt.date(2026, 11, 24)


@pytest.fixture
def coordinator(make_user):
    return make_user("national_coordinator", agency="mgcas")


def _audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action))


@pytest.mark.django_db
def test_the_way_forward_is_seeded_act_educate_invest_with_mgcas_to_be_confirmed():
    assert Action.objects.filter(pillar=Pillar.ACT).count() == 11
    assert Action.objects.filter(pillar=Pillar.EDUCATE).count() == 5
    assert Action.objects.filter(pillar=Pillar.INVEST).count() == 5
    assert set(Action.objects.values_list("lead_agency__code", flat=True)) == {"mgcas"}
    assert not Action.objects.filter(lead_to_be_confirmed=False).exists()
    interpol = Action.objects.get(key="act-interpol-icse")
    assert "67 member countries" in interpol.description
    assert Action.objects.get(key="educate-train-professionals").description.endswith(
        "adapted to include OCSEA."
    )


@pytest.mark.django_db
def test_seeding_again_adds_nothing_and_keeps_edits(coordinator):
    action = Action.objects.get(key="act-lead-body")
    actions.update_action(coordinator, action, status=ActionStatus.IN_PROGRESS)
    assert actions.seed_action_tracker(SYSTEM) == 0
    assert Action.objects.count() == 21
    assert Action.objects.get(key="act-lead-body").status == ActionStatus.IN_PROGRESS
    Action.objects.filter(key="invest-record-keeping").delete()
    assert actions.seed_action_tracker(SYSTEM) == 1
    assert [e.object_id for e in _audit(TrackerAudit.SEED)] == [
        str(Action.objects.get(key="invest-record-keeping").pk)
    ]


@pytest.mark.django_db
def test_the_coordinator_updates_an_action_and_the_audit_names_the_fields(coordinator):
    action = Action.objects.get(key="invest-dedicated-budget")
    sernic = Agency.objects.get(code="sernic")
    actions.update_action(
        coordinator,
        action,
        supporting_agencies=[sernic],
        status=ActionStatus.IN_PROGRESS,
        budget_allocated="2500000.00",
        budget_spent="100000",
        evidence_notes="Despacho ministerial de Outubro.",
    )
    action.refresh_from_db()
    assert action.budget_allocated == Decimal("2500000.00")
    assert list(action.supporting_agencies.all()) == [sernic]
    [entry] = _audit(TrackerAudit.ACTION_UPDATE)
    assert entry.fields == sorted(
        ["status", "budget_allocated", "budget_spent", "evidence_notes", "supporting_agencies"]
    )
    assert entry.actor_user_id == coordinator.pk


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "agency_supervisor", "investigator"])
def test_only_the_national_coordinator_edits_the_tracker(make_user, role):
    user = make_user(role, agency="mgcas")
    action = Action.objects.first()
    with pytest.raises(PermissionDenied):
        actions.update_action(user, action, status=ActionStatus.DONE)
    with pytest.raises(PermissionDenied):
        actions.add_milestone(user, action, title="x", due_date=TODAY)
    assert not AuditEntry.objects.filter(action__startswith="observatory:").exists()


@pytest.mark.django_db
def test_a_negative_budget_is_refused(coordinator):
    with pytest.raises(ValidationError):
        actions.update_action(coordinator, Action.objects.first(), budget_spent="-5")


@pytest.mark.django_db
def test_stalls_are_actions_marked_stalled_or_with_an_overdue_milestone(coordinator):
    late = Action.objects.get(key="act-anonymous-reporting")
    actions.add_milestone(coordinator, late, title="Draft bill", due_date=dt.date(2026, 6, 30))
    on_time = Action.objects.get(key="act-data-monitoring")
    actions.add_milestone(coordinator, on_time, title="Indicators agreed", due_date=dt.date(2027, 3, 31))
    done = Action.objects.get(key="educate-private-sector")
    milestone = actions.add_milestone(coordinator, done, title="Workshop", due_date=dt.date(2026, 5, 1))
    actions.complete_milestone(coordinator, milestone, done_date=dt.date(2026, 5, 2))
    stalled = Action.objects.get(key="invest-specialised-unit")
    actions.update_action(coordinator, stalled, status=ActionStatus.STALLED)
    finished = Action.objects.get(key="act-lead-body")
    actions.add_milestone(coordinator, finished, title="Decree", due_date=dt.date(2026, 1, 31))
    actions.update_action(coordinator, finished, status=ActionStatus.DONE)

    found = {r.action.key: r for r in tracker.stalling(TODAY)}
    assert set(found) == {"act-anonymous-reporting", "invest-specialised-unit"}
    assert [m.title for m in found["act-anonymous-reporting"].overdue] == ["Draft bill"]
    assert found["invest-specialised-unit"].stalled


@pytest.mark.django_db
def test_training_is_recorded_with_counts_and_urban_defaults_from_the_capital(coordinator):
    capital = District.objects.filter(is_capital=True, province_id="MZ07").first()
    rural = District.objects.filter(is_capital=False, province_id="MZ07").first()
    prm = Agency.objects.get(code="sernic")
    row = actions.ParticipantRow(prm, "investigator", Province.objects.get(pk="MZ07"), female=6, male=9)
    urban_session = actions.record_training(
        coordinator,
        course_title="OCSEA investigations",
        date=dt.date(2026, 9, 10),
        district=capital,
        organiser=prm,
        participants=[row, row],
    )
    rural_session = actions.record_training(
        coordinator,
        course_title="Child-friendly procedures",
        date=dt.date(2026, 9, 12),
        district=rural,
        organiser=prm,
        participants=[row],
    )
    assert urban_session.urban
    assert not rural_session.urban
    merged = TrainingParticipant.objects.get(session=urban_session)
    assert (merged.female, merged.male) == (12, 18)  # the same agency, role and province, merged
    assert [e.action for e in AuditEntry.objects.filter(object_id=str(urban_session.pk))] == [
        TrackerAudit.TRAINING_CREATE,
        TrackerAudit.PARTICIPANTS_ADD,
    ]
    coverage = {c.province.pk: c for c in tracker.training_coverage()}
    assert (coverage["MZ07"].urban_sessions, coverage["MZ07"].rural_sessions) == (1, 1)
    assert not coverage["MZ07"].never_trained
    assert coverage["MZ01"].never_trained
    assert capital not in coverage["MZ07"].districts_without


@pytest.mark.django_db
def test_training_in_the_future_or_with_a_made_up_role_is_refused(coordinator):
    district = District.objects.first()
    agency = Agency.objects.get(code="sernic")
    with pytest.raises(ValidationError):
        actions.record_training(
            coordinator,
            course_title="x",
            date=dt.date(2099, 1, 1),
            district=district,
            organiser=agency,
            participants=[],
        )
    row = actions.ParticipantRow(agency, "wizard", district.province, 1, 1)
    with pytest.raises(ValidationError):
        actions.record_training(
            coordinator,
            course_title="x",
            date=dt.date(2026, 1, 1),
            district=district,
            organiser=agency,
            participants=[row],
        )


@pytest.mark.django_db
def test_the_tracker_page_shows_stalls_and_untrained_provinces(client, coordinator):
    actions.update_action(
        coordinator, Action.objects.get(key="act-rights-information"), status=ActionStatus.STALLED
    )
    sign_in(client, coordinator)
    body = client.get("/observatory/tracker/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Give children who report a standard rights information package" in body
    assert "Marked stalled" in body
    assert body.count("No training held anywhere in this province.") == 11
    assert 'id="MZ01"' in body


@pytest.mark.django_db
def test_analysts_read_the_tracker_but_cannot_post(client, make_user):
    sign_in(client, make_user("analyst", agency="mgcas"))
    action = Action.objects.first()
    assert client.get("/observatory/tracker/").status_code == 200
    page = client.get(f"/observatory/tracker/actions/{action.pk}/")
    assert page.status_code == 200
    assert b'name="budget_spent"' not in page.content
    assert client.post(f"/observatory/tracker/actions/{action.pk}/", {"status": "done"}).status_code == 403
    assert client.get("/observatory/tracker/training/new/").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agency_supervisor", "investigator", "auditor"])
def test_other_roles_cannot_see_the_tracker(client, make_user, role):
    sign_in(client, make_user(role, agency="sernic"))
    assert client.get("/observatory/tracker/").status_code == 403


@pytest.mark.django_db
def test_the_coordinator_edits_through_the_form(client, coordinator):
    sign_in(client, coordinator)
    action = Action.objects.get(key="act-data-monitoring")
    response = client.post(
        f"/observatory/tracker/actions/{action.pk}/",
        {
            "status": "in_progress",
            "lead_agency": Agency.objects.get(code="sernic").pk,
            "budget_allocated": "1000",
            "budget_spent": "0",
        },
    )
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "in_progress"
    assert action.lead_agency.code == "sernic"
    assert not action.lead_to_be_confirmed
    bad = client.post(
        f"/observatory/tracker/actions/{action.pk}/", {"milestone_title": "x", "milestone_due": "31/12/2026"}
    )
    assert bad.status_code == 200
    assert b"errorlist" in bad.content


@pytest.mark.django_db
def test_the_coordinator_records_training_through_the_form(client, coordinator):
    sign_in(client, coordinator)
    district = District.objects.get(pk="MZ0702")
    response = client.post(
        "/observatory/tracker/training/new/",
        {
            "course_title": "OCSEA basics",
            "date": "2026-10-01",
            "district": district.pk,
            "organiser": Agency.objects.get(code="mgcas").pk,
            "agency_0": Agency.objects.get(code="sernic").pk,
            "role_0": "police_officer",
            "province_0": "MZ07",
            "female_0": "3",
            "male_0": "4",
        },
    )
    assert response.status_code == 302
    assert TrainingParticipant.objects.get().female == 3


@pytest.mark.django_db
def test_the_tracker_shows_people_trained_protected_and_where_training_never_reached(client, coordinator):
    nampula = Province.objects.get(pk="MZ07")
    sernic = Agency.objects.get(code="sernic")
    capital = District.objects.filter(is_capital=True, province=nampula).first()
    actions.record_training(
        coordinator,
        course_title="OCSEA investigations",
        date=dt.date(2026, 3, 10),
        district=capital,
        organiser=sernic,
        participants=[
            actions.ParticipantRow(sernic, "investigator", nampula, female=10, male=12),
            actions.ParticipantRow(
                sernic, "police_officer", Province.objects.get(pk="MZ08"), female=1, male=2
            ),
        ],
    )
    sign_in(client, coordinator)
    body = client.get("/observatory/tracker/?year=2026", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Only in the provincial capital." in body
    assert body.count("No training held anywhere in this province.") == 10
    assert "&lt;5" in body  # three people from Niassa
    assert not re.search(r'<td class="num">\s*[1-4]\s*</td>', body)
    assert not re.search(r">\s*[1-4]\s*</text>", body)
    other_year = client.get("/observatory/tracker/?year=2025", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert other_year.count("No training held anywhere in this province.") == 11
    assert client.get("/observatory/tracker/?year=banana").status_code == 200


@pytest.mark.django_db
@hypothesis.settings(
    max_examples=30, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture], deadline=None
)
@hypothesis.given(
    form=st.dictionaries(
        st.sampled_from(
            [
                "status",
                "lead_agency",
                "budget_allocated",
                "budget_spent",
                "evidence_notes",
                "milestone_title",
                "milestone_due",
                "complete_milestone",
                "course_title",
                "date",
                "district",
                "organiser",
                "agency_0",
                "role_0",
                "province_0",
                "female_0",
                "male_0",
                "urban",
            ]
        ),
        st.text(max_size=15),
        max_size=8,
    )
)
def test_tracker_forms_never_fail_on_any_input(client, coordinator, form):
    sign_in(client, coordinator)
    action = Action.objects.first()
    assert client.post(f"/observatory/tracker/actions/{action.pk}/", form).status_code in (200, 302, 404)
    assert client.post("/observatory/tracker/training/new/", form).status_code in (200, 302)


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1e30", "abc", "-0.01"])
def test_amounts_that_are_not_budgets_are_refused(coordinator, amount):
    with pytest.raises(ValidationError):
        actions.update_action(coordinator, Action.objects.first(), budget_allocated=amount)


@pytest.mark.django_db
def test_a_nul_byte_in_a_form_is_an_invalid_value_not_a_server_error(client, coordinator):
    sign_in(client, coordinator)
    action = Action.objects.first()
    form = {"district": "\x00", "organiser": "\x00", "course_title": "a\x00b", "date": "2026-01-01"}
    assert client.post("/observatory/tracker/training/new/", form).status_code == 200
    edit = {"lead_agency": "\x00", "status": "done\x00", "evidence_notes": "x\x00"}
    assert client.post(f"/observatory/tracker/actions/{action.pk}/", edit).status_code == 302
    action.refresh_from_db()
    assert action.status == "done"
    assert action.evidence_notes == "x"
