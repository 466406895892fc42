"""The justice record: investigation to verdict, sentence and compensation. Each step is audited, events
are kept in date order, only the roles that take a step may record it (and only when the case's justice
section is theirs to see), outsiders get 404, and attrition from report to conviction can be counted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from amparo.cases import justice
from amparo.cases.actions import justice as actions
from amparo.cases.models import Case, JusticeEvent, ShareableField
from amparo.cases.permissions import JusticeAudit
from amparo.cases.tests.justice_support import ago, entries_since, mark, new_case, share
from amparo.cases.workflow import Outcome, Status
from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.models import AuditEntry
from amparo.core.tests.test_web import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):
    """WhiteNoise warns (an error here) when STATIC_ROOT does not exist yet, as before `collectstatic`."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def case() -> Case:
    return new_case()


@pytest.fixture
def investigator(make_user):
    return make_user("investigator", agency="sernic")


@pytest.fixture
def prosecutor(make_user, case):
    """A PGR prosecutor holding the case through an accepted referral that shares the justice record."""
    user = make_user("prosecutor", agency="pgr")
    share(case, "pgr", [ShareableField.JUSTICE], user)
    return user


# ---------------------------------------------------------------------------------------------
# Actions: audit, order, validation


def test_justice_event_is_audited_with_field_names_only(case, investigator):
    start = mark()
    event = actions.record_justice_event(
        investigator,
        case,
        kind="investigation_opened",
        occurred_at=ago(days=2),
        details="Inquérito n.º 12/26",
    )
    [entry] = entries_since(start)
    assert entry.action == JusticeAudit.JUSTICE_EVENT_CREATE == "cases:justice_event:create"
    assert (entry.object_type, entry.object_id) == ("cases.justiceevent", str(event.pk))
    assert entry.actor_user_id == investigator.pk
    assert entry.actor_agency == "sernic"
    assert entry.fields == ["details", "kind", "occurred_at"]
    assert "Inquérito" not in str(entry.fields)
    assert event.recorded_by == investigator
    assert list(audit.verify()) == []


def test_justice_events_are_kept_in_the_order_they_happened_not_recorded(case, investigator, prosecutor):
    actions.record_justice_event(prosecutor, case, kind="charges_filed", occurred_at=ago(days=1))
    actions.record_justice_event(investigator, case, kind="suspect_identified", occurred_at=ago(days=5))
    actions.record_justice_event(investigator, case, kind="investigation_opened", occurred_at=ago(days=9))
    kinds = list(case.justice_events.values_list("kind", flat=True))
    assert kinds == ["investigation_opened", "suspect_identified", "charges_filed"]


def test_the_whole_chain_to_compensation_paid_is_recorded_and_counted(case, investigator, prosecutor):
    steps = [
        (investigator, {"kind": "investigation_opened"}),
        (investigator, {"kind": "suspect_identified"}),
        (prosecutor, {"kind": "charges_filed"}),
        (prosecutor, {"kind": "court_case_registered", "court_case_number": "Proc. 45/2026-TMCM"}),
        (prosecutor, {"kind": "hearing", "court_name": "Tribunal de Menores da Cidade de Maputo"}),
        (prosecutor, {"kind": "verdict", "verdict": "convicted", "sentence": "8 anos de prisão"}),
        (prosecutor, {"kind": "compensation_ordered", "amount_mzn": "150000"}),
        (prosecutor, {"kind": "compensation_paid", "amount_mzn": Decimal("150000.00")}),
    ]
    start = mark()
    for days, (user, fields) in zip(range(len(steps), 0, -1), steps, strict=True):
        actions.record_justice_event(user, case, occurred_at=ago(days=days), **fields)
    events = list(case.justice_events.all())
    assert [e.kind for e in events] == [fields["kind"] for _user, fields in steps]
    assert events[3].court_case_number == "Proc. 45/2026-TMCM"
    assert (events[5].verdict, events[5].sentence) == ("convicted", "8 anos de prisão")
    assert events[6].amount_mzn == events[7].amount_mzn == Decimal("150000.00")
    entries = entries_since(start, prefix="cases:justice_event")
    assert [e.object_id for e in entries] == [str(e.pk) for e in sorted(events, key=lambda e: e.created_at)]
    assert [e.actor_agency for e in entries] == ["sernic", "sernic"] + ["pgr"] * 6
    assert entries[5].fields == ["kind", "occurred_at", "sentence", "verdict"]
    assert entries[6].fields == ["amount_mzn", "kind", "occurred_at"]

    other = new_case()
    actions.record_justice_event(investigator, other, kind="investigation_opened", occurred_at=ago(days=1))
    new_case()  # reported only
    counts = justice.attrition(Case.objects.filter(owning_agency__code="sernic"))
    assert counts == {"report": 3, "investigation": 2, "prosecution": 1, "court": 1, "conviction": 1}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "verdict"}, "verdict"),
        ({"kind": "hearing", "verdict": "convicted"}, "verdict"),
        ({"kind": "court_case_registered"}, "court case number"),
        ({"kind": "hearing", "amount_mzn": "100"}, "compensation"),
        ({"kind": "compensation_ordered", "amount_mzn": "-5"}, "positive"),
        ({"kind": "compensation_ordered", "amount_mzn": "lots"}, "number"),
        ({"kind": "charges_filed", "sentence": "2 anos"}, "sentence"),
        ({"kind": "trial_by_combat"}, "Unknown"),
        ({"kind": "verdict", "verdict": "guilty-ish"}, "Unknown verdict"),
    ],
)
def test_inconsistent_justice_events_are_refused_and_nothing_is_written(case, prosecutor, fields, message):
    from django.utils import translation

    start = mark()
    with translation.override("en"), pytest.raises(ValidationError) as error:
        actions.record_justice_event(prosecutor, case, occurred_at=ago(hours=1), **fields)
    assert message in " ".join(error.value.messages)
    assert not JusticeEvent.objects.exists()
    assert entries_since(start) == []


def test_a_justice_event_cannot_be_in_the_future_or_without_time_zone(case, investigator):
    with pytest.raises(ValidationError):
        actions.record_justice_event(
            investigator, case, kind="investigation_opened", occurred_at=ago(hours=-2)
        )
    with pytest.raises(ValidationError):
        actions.record_justice_event(
            investigator,
            case,
            kind="investigation_opened",
            occurred_at=dt.datetime(2026, 1, 5, 9, 0),  # noqa: DTZ001  (naive on purpose)
        )
    assert not JusticeEvent.objects.exists()


# ---------------------------------------------------------------------------------------------
# Who may record what


def test_an_investigator_records_investigation_steps_but_not_court_steps(case, investigator):
    actions.record_justice_event(investigator, case, kind="suspect_arrested", occurred_at=ago(hours=3))
    for kind in ("charges_filed", "verdict", "compensation_paid"):
        with pytest.raises(PermissionDenied):
            actions.record_justice_event(investigator, case, kind=kind, occurred_at=ago(hours=1))
    assert list(case.justice_events.values_list("kind", flat=True)) == ["suspect_arrested"]


@pytest.mark.parametrize("role", ["helpline_operator", "social_worker", "agency_supervisor", "analyst"])
def test_roles_that_take_no_justice_step_record_none(make_user, case, role):
    user = make_user(role, agency="sernic")
    for kind in ("investigation_opened", "charges_filed", "hearing"):
        with pytest.raises(PermissionDenied):
            actions.record_justice_event(user, case, kind=kind, occurred_at=ago(hours=1))
    assert not JusticeEvent.objects.exists()


def test_a_court_officer_records_court_steps_but_not_investigation_steps(make_user, case):
    officer = make_user("court_officer", agency="tribunal-menores-maputo")
    share(case, "tribunal-menores-maputo", [ShareableField.JUSTICE], officer)
    actions.record_justice_event(
        officer, case, kind="hearing", occurred_at=ago(hours=2), court_name="TMCM, 1.ª secção"
    )
    with pytest.raises(PermissionDenied):
        actions.record_justice_event(officer, case, kind="investigation_opened", occurred_at=ago(hours=1))
    assert list(case.justice_events.values_list("kind", flat=True)) == ["hearing"]


def test_an_agency_not_given_the_justice_record_cannot_write_to_it(make_user, case):
    prosecutor = make_user("prosecutor", agency="pgr")
    with pytest.raises(PermissionDenied):  # no referral at all
        actions.record_justice_event(prosecutor, case, kind="charges_filed", occurred_at=ago(hours=1))
    share(case, "pgr", [ShareableField.NARRATIVE], prosecutor)  # accepted, but justice not shared
    with pytest.raises(PermissionDenied):
        actions.record_justice_event(prosecutor, case, kind="charges_filed", occurred_at=ago(hours=1))
    assert not JusticeEvent.objects.exists()


# ---------------------------------------------------------------------------------------------
# The status each step suggests


def test_steps_suggest_the_next_status_but_never_force_it(case, investigator, prosecutor):
    event = actions.record_justice_event(
        investigator, case, kind="investigation_opened", occurred_at=ago(days=3)
    )
    case.refresh_from_db()
    assert case.status == Status.RECEIVED  # nothing changed by itself
    assert justice.suggested_transition(case, event) is None  # received → under investigation: not allowed
    Case.objects.filter(pk=case.pk).update(status=Status.ASSIGNED)
    case.refresh_from_db()
    assert justice.suggested_transition(case, event) == (Status.UNDER_INVESTIGATION, "")
    verdict = actions.record_justice_event(
        prosecutor, case, kind="verdict", verdict="convicted", occurred_at=ago(days=1)
    )
    assert justice.suggested_transition(case, verdict) is None  # a verdict closes only a case in court
    Case.objects.filter(pk=case.pk).update(status=Status.IN_COURT)
    case.refresh_from_db()
    assert justice.suggested_transition(case, verdict) == (Status.CLOSED, Outcome.CONVICTED)


# ---------------------------------------------------------------------------------------------
# Pages


def test_investigator_records_an_event_from_the_case_page(client, case, investigator):
    sign_in(client, investigator)
    page = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert 'id="justice"' in body
    assert f'action="/cases/{case.reference}/justice/events/"' in body
    assert 'value="investigation_opened"' in body
    assert 'value="charges_filed"' not in body  # only the steps this role takes are offered
    response = client.post(
        f"/cases/{case.reference}/justice/events/",
        {"kind": "investigation_opened", "occurred_at": ago(days=1).strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.reference}/#justice"
    event = case.justice_events.get()
    assert (event.kind, event.recorded_by) == ("investigation_opened", investigator)
    assert AuditEntry.objects.filter(
        action=JusticeAudit.JUSTICE_EVENT_CREATE, object_id=str(event.pk), actor_user_id=investigator.pk
    ).exists()
    page = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Investigation opened" in page.content.decode()


def test_a_mistaken_event_form_comes_back_with_the_reason(client, case, make_user, prosecutor):
    sign_in(client, prosecutor)
    response = client.post(
        f"/cases/{case.reference}/justice/events/",
        {"kind": "court_case_registered", "occurred_at": ago(days=1).strftime("%Y-%m-%dT%H:%M")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "Give the court case number." in response.content.decode()
    assert not JusticeEvent.objects.exists()


def test_outsider_posting_a_justice_event_gets_404_and_nothing_is_written(client, make_user, case):
    outsider = make_user("prosecutor", agency="pgr")  # no referral
    sign_in(client, outsider)
    data = {"kind": "charges_filed", "occurred_at": ago(days=1).strftime("%Y-%m-%dT%H:%M")}
    assert client.post(f"/cases/{case.reference}/justice/events/", data).status_code == 404
    assert client.get(f"/cases/{case.reference}/").status_code == 404
    assert not JusticeEvent.objects.exists()


def test_a_reader_without_the_right_gets_403_and_no_form(client, make_user, case):
    operator = make_user("helpline_operator", agency="sernic")
    sign_in(client, operator)
    body = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'id="justice"' in body  # the record is shown ...
    assert "/justice/events/" not in body  # ... but not the form
    data = {"kind": "investigation_opened", "occurred_at": ago(days=1).strftime("%Y-%m-%dT%H:%M")}
    assert client.post(f"/cases/{case.reference}/justice/events/", data).status_code == 403
    assert not JusticeEvent.objects.exists()


def test_the_justice_record_is_hidden_from_an_agency_it_was_not_shared_with(client, make_user, case):
    actions.record_justice_event(
        SYSTEM, case, kind="court_case_registered", court_case_number="Proc. 99/2026", occurred_at=ago(days=1)
    )
    social = make_user("social_worker", agency="mgcas")
    share(case, "mgcas", [ShareableField.SERVICES], social)
    sign_in(client, social)
    body = client.get(f"/cases/{case.reference}/").content.decode()
    assert client.get(f"/cases/{case.reference}/").status_code == 200
    assert 'id="justice"' not in body
    assert "Proc. 99/2026" not in body  # neither in the panel nor in the timeline
    entries = list(justice.justice_history(social, case, frozenset({ShareableField.SERVICES})))
    assert entries == []


# ---------------------------------------------------------------------------------------------
# Atomicity: every write of amparo.cases.actions.justice leaves nothing behind when it fails after
# writing its audit entry (the audit entry is the last thing in each transaction).


class InjectedFailure(Exception):
    pass


def _state() -> dict[str, object]:
    from amparo.cases.models import Interview, PreservationRequest, ServiceProvider
    from amparo.core.models import AuditHead, Notification

    return {
        "events": JusticeEvent.objects.count(),
        "interviews": Interview.objects.count(),
        "requests": sorted(
            PreservationRequest.objects.values_list(
                "id", "status", "sent_at", "deadline", "answered_at", "last_reminder_at"
            ),
            key=str,
        ),
        "providers": sorted(ServiceProvider.objects.values_list("code", "name", "response_days", "active")),
        "notifications": Notification.objects.count(),
        "audit": AuditEntry.objects.count(),
        "heads": sorted(AuditHead.objects.values_list("chain", "last_id", "last_hash", "count")),
    }


def _justice_scenarios(make_user, case) -> dict[str, object]:
    from amparo.cases import preservation
    from amparo.cases.models import PreservationRequest, ServiceProvider

    investigator = make_user("investigator", agency="sernic")
    colleague = make_user("investigator", agency="sernic")
    sysadmin = make_user("sysadmin", agency="intic")
    vodacom = ServiceProvider.objects.get(code="vodacom")

    def new_request() -> PreservationRequest:
        return actions.create_preservation_request(
            investigator,
            case,
            provider=vodacom,
            kind="preservation",
            identifiers="+258 84 000 0000",
            date_from=dt.date(2026, 1, 1),
            date_to=dt.date(2026, 1, 31),
            legal_basis="Base legal inventada.",
        )

    draft = new_request()
    sent = actions.send_preservation_request(investigator, new_request())
    PreservationRequest.objects.filter(pk=sent.pk).update(deadline=dt.date(2026, 1, 1))
    sent.refresh_from_db()
    vodacom.response_days = 20
    return {
        "record_justice_event": lambda: actions.record_justice_event(
            investigator, case, kind="investigation_opened", occurred_at=ago(hours=1)
        ),
        "record_interview": lambda: actions.record_interview(
            investigator,
            case,
            occurred_at=ago(hours=1),
            interviewer=investigator,
            interviewer_trained=True,
            support_person_present=False,
            recorded=False,
        ),
        "create_preservation_request": new_request,
        "send_preservation_request": lambda: actions.send_preservation_request(investigator, draft),
        "answer_preservation_request": lambda: actions.answer_preservation_request(
            colleague, sent, status="fulfilled", note="Entregue."
        ),
        "remind_preservation_request": lambda: actions.remind_preservation_request(preservation.SYSTEM, sent),
        "expire_preservation_request": lambda: actions.expire_preservation_request(preservation.SYSTEM, sent),
        "save_service_provider": lambda: actions.save_service_provider(sysadmin, vodacom, ["response_days"]),
    }


JUSTICE_WRITES = [
    "record_justice_event",
    "record_interview",
    "create_preservation_request",
    "send_preservation_request",
    "answer_preservation_request",
    "remind_preservation_request",
    "expire_preservation_request",
    "save_service_provider",
]


@pytest.mark.parametrize("name", JUSTICE_WRITES)
def test_justice_actions_leave_nothing_behind_when_they_fail_after_the_audit(
    make_user, case, monkeypatch, name
):
    run = _justice_scenarios(make_user, case)[name]
    real_record = audit.record
    recorded: list[str] = []

    def record_then_fail(*args, **kwargs):
        entry = real_record(*args, **kwargs)
        recorded.append(entry.action)
        raise InjectedFailure

    before = _state()
    monkeypatch.setattr(audit, "record", record_then_fail)
    with pytest.raises(InjectedFailure):
        run()
    monkeypatch.undo()
    assert len(recorded) == 1
    assert _state() == before
    assert list(audit.verify()) == []


def test_every_justice_write_is_covered_by_the_atomicity_test():
    from amparo.cases import actions as package

    constants = {"ANSWER_STATUSES"}
    assert set(actions.__all__) - constants == set(JUSTICE_WRITES)
    assert set(actions.__all__) <= set(package.__all__)  # exported from amparo.cases.actions too
