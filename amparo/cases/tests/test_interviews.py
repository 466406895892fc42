"""Child-friendly justice: interviews of a child are recorded (date, interviewer, training, support person,
recording), audited, limited to the roles that interview children, and the case page warns before a child
is interviewed again; after a recorded interview another one needs an explicit confirmation."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from amparo.cases import actions as case_actions
from amparo.cases.actions import justice as actions
from amparo.cases.interviews import repeat_interview_warning
from amparo.cases.models import Case, Interview, ShareableField
from amparo.cases.permissions import JusticeAudit
from amparo.cases.tests.justice_support import ago, entries_since, mark, new_case, share
from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.tests.test_web import sign_in

pytestmark = pytest.mark.django_db

RECORDING = "Arquivo da SERNIC, DVD 7"


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def case() -> Case:
    return new_case()


@pytest.fixture
def child(case):
    return case.persons.get(role="victim")


@pytest.fixture
def investigator(make_user):
    return make_user("investigator", agency="sernic")


def _interview(actor, case, **overrides):
    fields = {
        "occurred_at": ago(days=3),
        "interviewer": actor if not isinstance(actor, audit.Actor) else None,
        "interviewer_name": "" if not isinstance(actor, audit.Actor) else "Inspectora (tests)",
        "interviewer_trained": True,
        "support_person_present": True,
        "support_person_role": "psicóloga",
        "recorded": True,
        "recording_reference": RECORDING,
        "place": "Sala amiga da criança",
        "purpose": "Declarações para memória futura",
    } | overrides
    return actions.record_interview(actor, case, **fields)


def _form(**overrides):
    return {
        "occurred_at": ago(days=1).strftime("%Y-%m-%dT%H:%M"),
        "by_me": "on",
        "interviewer_trained": "on",
        "support_person_present": "on",
        "support_person_role": "mãe",
        "place": "Gabinete",
    } | overrides


# ---------------------------------------------------------------------------------------------
# Actions


def test_an_interview_is_recorded_with_its_safeguards_and_audited(case, child, investigator):
    start = mark()
    interview = _interview(investigator, case, person=child, notes="A criança falou com calma.")
    assert interview.interviewer_trained
    assert interview.support_person_present
    assert interview.recorded
    [entry] = entries_since(start)
    assert entry.action == JusticeAudit.INTERVIEW_CREATE == "cases:interview:create"
    assert (entry.object_type, entry.object_id) == ("cases.interview", str(interview.pk))
    assert entry.actor_user_id == investigator.pk
    assert entry.fields == [
        "interviewer",
        "interviewer_trained",
        "notes",
        "occurred_at",
        "person",
        "place",
        "purpose",
        "recorded",
        "recording_reference",
        "support_person_present",
        "support_person_role",
    ]
    assert list(audit.verify()) == []


def test_a_recorded_child_is_not_interviewed_again_without_confirmation(case, child, investigator):
    _interview(investigator, case, person=child)
    start = mark()
    with translation.override("en"), pytest.raises(ValidationError) as error:
        _interview(investigator, case, person=child, occurred_at=ago(hours=2))
    assert "already had a recorded interview" in " ".join(error.value.messages)
    assert Interview.objects.count() == 1
    assert entries_since(start) == []

    again = _interview(investigator, case, person=child, occurred_at=ago(hours=2), confirm_repeat=True)
    [entry] = entries_since(start)
    assert entry.object_id == str(again.pk)
    assert "repeat_confirmed" in entry.fields  # the audit says a repeat was knowingly confirmed


def test_after_an_unrecorded_interview_another_is_allowed_but_audited_as_a_repeat(case, child, investigator):
    _interview(investigator, case, person=child, recorded=False, recording_reference="")
    warning = repeat_interview_warning(case, child)
    assert warning
    assert not warning.needs_confirmation
    start = mark()
    _interview(
        investigator, case, person=child, occurred_at=ago(hours=1), recorded=False, recording_reference=""
    )
    [entry] = entries_since(start)
    assert "repeat" in entry.fields
    assert "repeat_confirmed" not in entry.fields


def test_an_interview_of_a_child_not_named_counts_for_every_child_of_the_case(case, child, investigator):
    assert not repeat_interview_warning(case, child)
    _interview(investigator, case, person=None)
    assert repeat_interview_warning(case, child).needs_confirmation


def test_interviews_in_a_case_merged_into_this_one_count(case, child, investigator):
    duplicate = new_case()
    _interview(SYSTEM, duplicate)
    Case.objects.filter(pk=duplicate.pk).update(merged_into=case)
    assert repeat_interview_warning(case, child).needs_confirmation
    with pytest.raises(ValidationError):
        _interview(investigator, case, person=child, occurred_at=ago(hours=1))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"recording_reference": ""}, "Say where the recording is kept"),
        ({"interviewer": None, "interviewer_name": ""}, "Say who interviewed the child"),
        ({"support_person_present": False}, "support person"),
        ({"occurred_at": ago(hours=-3)}, "future"),
    ],
)
def test_incomplete_interview_records_are_refused(case, child, investigator, overrides, message):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        _interview(investigator, case, person=child, **overrides)
    assert message in " ".join(error.value.messages)
    assert not Interview.objects.exists()


def test_only_a_child_of_this_case_can_be_named(case, investigator):
    other_child = new_case().persons.get(role="victim")
    caregiver = case_actions.add_person(SYSTEM, case, role="caregiver", name="Mãe Inventada", age=40)
    for person in (other_child, caregiver):
        with pytest.raises(ValidationError):
            _interview(investigator, case, person=person)
    assert not Interview.objects.exists()


@pytest.mark.parametrize(
    ("role", "agency", "allowed"),
    [
        ("investigator", "sernic", True),
        ("social_worker", "sernic", True),
        ("helpline_operator", "sernic", False),
        ("agency_supervisor", "sernic", False),
        ("investigator", "prm", False),  # another agency, no referral
    ],
)
def test_only_roles_that_interview_children_record_interviews(make_user, case, child, role, agency, allowed):
    user = make_user(role, agency=agency)
    if allowed:
        _interview(user, case, person=child)
        assert Interview.objects.count() == 1
    else:
        with pytest.raises(PermissionDenied):
            _interview(user, case, person=child)
        assert not Interview.objects.exists()


def test_a_referred_agency_records_interviews_only_when_they_were_shared(make_user, case, child):
    social = make_user("social_worker", agency="mgcas")
    share(case, "mgcas", [ShareableField.SERVICES], social)
    with pytest.raises(PermissionDenied):
        _interview(social, case, person=child)
    case_actions.revoke_referral(SYSTEM, case.referrals.get(to_agency__code="mgcas"))
    share(case, "mgcas", [ShareableField.SERVICES, ShareableField.INTERVIEWS], social)
    _interview(social, case, person=child)
    assert Interview.objects.get().recorded_by == social


# ---------------------------------------------------------------------------------------------
# The case page


def test_the_case_page_warns_before_a_child_is_interviewed_again(client, case, child, investigator):
    sign_in(client, investigator)
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="interviews"' in body
    assert "already interviewed" not in body
    _interview(investigator, case, person=child)
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This child was already interviewed on" in body
    assert RECORDING in body  # where the recording is kept, so that it can be used instead
    assert "A recorded interview should not be repeated." in body


def test_a_repeat_interview_posted_without_confirmation_comes_back_with_the_warning(
    client, case, child, investigator
):
    _interview(investigator, case, person=child)
    sign_in(client, investigator)
    url = f"/cases/{case.reference}/interviews/"
    response = client.post(url, _form(person=str(child.pk)), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.content.decode()
    assert "This child was already interviewed on" in body
    assert "Confirm that another interview is necessary." in body
    assert Interview.objects.count() == 1

    response = client.post(url, _form(person=str(child.pk), confirm_repeat="on"))
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.reference}/#interviews"
    latest = Interview.objects.order_by("-created_at").first()
    assert (latest.interviewer, latest.person, latest.support_person_role) == (investigator, child, "mãe")
    assert Interview.objects.count() == 2


def test_interview_pages_keep_outsiders_out_and_readers_without_the_right_from_writing(
    client, make_user, case, child
):
    outsider = make_user("investigator", agency="prm")
    sign_in(client, outsider)
    assert client.post(f"/cases/{case.reference}/interviews/", _form()).status_code == 404
    client.logout()
    operator = make_user("helpline_operator", agency="sernic")
    sign_in(client, operator)
    body = client.get(f"/cases/{case.reference}/").content.decode()
    assert f'action="/cases/{case.reference}/interviews/"' not in body
    assert client.post(f"/cases/{case.reference}/interviews/", _form()).status_code == 403
    assert not Interview.objects.exists()


def test_interview_notes_are_hidden_from_a_role_without_identity(
    client, make_user, case, child, investigator
):
    _interview(investigator, case, person=child, notes="Nota reservada sobre a criança.")
    supervisor = make_user("agency_supervisor", agency="sernic")
    sign_in(client, supervisor)
    body = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="interviews"' in body
    assert "Nota reservada" not in body
    assert "Hidden for your role." in body
