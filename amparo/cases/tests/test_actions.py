"""The case actions: validation, references, referrals and their audit trail, blind-index look-ups
and atomicity (a failure after the write leaves nothing behind)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.http import Http404

from amparo.cases import actions
from amparo.cases.access import get_case_for_user
from amparo.cases.actions import relations
from amparo.cases.models import (
    Case,
    CaseForm,
    CaseNote,
    CasePlatform,
    CaseRelation,
    ConsentRecord,
    Person,
    Referral,
    Transition,
)
from amparo.cases.permissions import CasePermission
from amparo.cases.policy import visible_cases
from amparo.cases.tests.fixtures import given_consent
from amparo.core import audit
from amparo.core.models import Agency, AuditEntry, AuditHead, District, Province, User
from amparo.core.policy import can
from amparo.core.roles import Role

pytestmark = pytest.mark.django_db

SYSTEM = audit.Actor.system("tests")
OWNER = "linha-fala-crianca"
PARTNER = "sernic"
THIRD = "pgr"

MakeUser = Callable[..., User]
MakeCase = Callable[..., Any]


def _agency(code: str) -> Agency:
    return Agency.objects.get(code=code)


def _mark() -> int:
    return AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0


def _audit_since(mark: int) -> list[str]:
    """The actions of the writes since `mark` (refused reads, `core:access:denied`, are left out)."""
    entries = AuditEntry.objects.filter(id__gt=mark).exclude(action="core:access:denied")
    return list(entries.order_by("id").values_list("action", flat=True))


def _entries_since(mark: int) -> list[tuple[str, str, str, str, list[str]]]:
    """The entries of the writes since `mark` (refused reads, `core:access:denied`, are left out)."""
    return [
        (e.action, e.object_type, e.object_id, e.actor_username, e.fields)
        for e in AuditEntry.objects.filter(id__gt=mark).exclude(action="core:access:denied").order_by("id")
    ]


def _create(actor: Any, **kwargs: Any) -> Case:
    fields: dict[str, Any] = {"channel": "helpline", "owning_agency": _agency(OWNER)} | kwargs
    return actions.create_case(actor, **fields)


# ---------------------------------------------------------------------------------------------
# create_case
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"forms": ["grooming", "cyberbullying"]},
        {"platforms": ["whatsapp", "myspace"]},
        {"risk_flags": ["immediate_danger", "bad_vibes"]},
        {"forms": ["GROOMING"]},
        {"channel": "carrier_pigeon"},
        {"priority": "urgent"},
    ],
    ids=["form", "platform", "risk-flag", "form-case-sensitive", "channel", "priority"],
)
def test_create_case_refuses_unknown_codes_and_writes_nothing(
    make_user: MakeUser, bad: dict[str, Any]
) -> None:
    operator = make_user(Role.HELPLINE_OPERATOR, agency=OWNER)
    mark = _mark()
    with pytest.raises(ValidationError):
        _create(operator, **bad)
    assert Case.objects.count() == 0
    assert _audit_since(mark) == []


def test_create_case_records_codes_once_and_audits_field_names(make_user: MakeUser) -> None:
    operator = make_user(Role.HELPLINE_OPERATOR, agency=OWNER)
    mark = _mark()
    case = _create(
        operator,
        forms=["grooming", "sextortion", "grooming"],
        platforms=["whatsapp", "tiktok"],
        risk_flags=["ongoing_contact"],
        narrative="A synthetic narrative.",
        district=District.objects.get(pk="MZ0702"),
    )
    assert sorted(case.form_codes) == ["grooming", "sextortion"]
    assert sorted(case.platform_codes) == ["tiktok", "whatsapp"]
    assert case.risk_flags == ["ongoing_contact"]
    assert (case.province_id, case.district_id) == ("MZ07", "MZ0702")  # the province follows the district
    assert case.status == "received"
    assert _entries_since(mark) == [
        (
            "cases:case:create",
            "cases.case",
            str(case.pk),
            operator.username,
            sorted(
                [
                    "channel",
                    "owning_agency",
                    "priority",
                    "mode",
                    "province",
                    "district",
                    "incident_date",
                    "risk_flags",
                    "forms",
                    "platforms",
                    "narrative",
                    "acknowledge_due_at",
                    "action_due_at",
                ]
            ),
        )
    ]


@pytest.mark.parametrize("priority", ["low", "normal", "high", "immediate"])
def test_immediate_danger_forces_immediate_priority(priority: str) -> None:
    case = _create(SYSTEM, priority=priority, risk_flags=["self_harm", "immediate_danger"])
    assert Case.objects.get(pk=case.pk).priority == "immediate"


def test_priority_is_kept_without_immediate_danger() -> None:
    case = _create(SYSTEM, priority="low", risk_flags=["self_harm"])
    assert Case.objects.get(pk=case.pk).priority == "low"


def test_district_outside_the_province_is_refused() -> None:
    with pytest.raises(ValidationError):
        _create(SYSTEM, province=Province.objects.get(pk="MZ06"), district=District.objects.get(pk="MZ0702"))
    assert Case.objects.count() == 0


def test_staff_cannot_create_a_case_for_another_agency(make_user: MakeUser) -> None:
    operator = make_user(Role.HELPLINE_OPERATOR, agency=OWNER)
    with pytest.raises(PermissionDenied):
        _create(operator, owning_agency=_agency(PARTNER))
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    "role",
    [
        Role.PROSECUTOR,
        Role.COURT_OFFICER,
        Role.ANALYST,
        Role.AUDITOR,
        Role.SYSADMIN,
        Role.NATIONAL_COORDINATOR,
    ],
)
def test_roles_without_the_create_right_cannot_create(make_user: MakeUser, role: str) -> None:
    with pytest.raises(PermissionDenied):
        _create(make_user(role, agency=OWNER))
    assert Case.objects.count() == 0


def test_staff_acting_through_a_channel_keeps_their_own_rights(make_user: MakeUser) -> None:
    """An Actor that wraps a staff user (an API call, say) is checked as that user, not waved through."""
    operator = make_user(Role.HELPLINE_OPERATOR, agency=OWNER)
    analyst = make_user(Role.ANALYST, agency=OWNER)
    mark = _mark()
    case = _create(audit.Actor(user=operator, channel="api"))
    entry = AuditEntry.objects.get(id__gt=mark)
    assert (entry.action, entry.object_id, entry.actor_user_id, entry.actor_channel) == (
        "cases:case:create",
        str(case.pk),
        operator.pk,
        "api",
    )
    with pytest.raises(PermissionDenied):
        _create(audit.Actor(user=analyst, channel="api"))
    with pytest.raises(PermissionDenied):
        _create(audit.Actor(user=operator, channel="api"), owning_agency=_agency(PARTNER))
    assert Case.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------

REFERENCE = re.compile(r"^AMP-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _as_number(reference: str) -> int:
    value = 0
    for ch in reference[4:8] + reference[9:]:
        value = value * 32 + CROCKFORD.index(ch)
    return value


def test_references_are_random_looking() -> None:
    references = [_create(SYSTEM).reference for _ in range(500)]

    assert all(REFERENCE.match(r) for r in references), [r for r in references if not REFERENCE.match(r)]
    assert len(set(references)) == 500
    assert Case.objects.values("reference").distinct().count() == 500

    # Not sequential: consecutive references go up about as often as down, and are never close.
    numbers = [_as_number(r) for r in references]
    ups = sum(1 for a, b in pairwise(numbers) if b > a)
    assert 150 < ups < 350, ups  # expected ~250; 350 is more than 9 standard deviations away
    assert min(abs(b - a) for a, b in pairwise(numbers)) > 2**10
    # Every one of the 32 symbols is used, none heavily favoured (4,000 symbols, ~125 each).
    counts = Counter(ch for r in references for ch in r[4:8] + r[9:])
    assert set(counts) == set(CROCKFORD)
    assert all(60 < n < 200 for n in counts.values()), counts


# ---------------------------------------------------------------------------------------------
# Referrals
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def people(make_user: MakeUser) -> dict[str, User]:
    return {
        "sender": make_user(Role.INTAKE_OFFICER, agency=OWNER),
        "owner_supervisor": make_user(Role.AGENCY_SUPERVISOR, agency=OWNER),
        "receiver": make_user(Role.INVESTIGATOR, agency=PARTNER),
        "receiver_analyst": make_user(Role.ANALYST, agency=PARTNER),
        "outsider": make_user(Role.INVESTIGATOR, agency=THIRD),
    }


@pytest.fixture
def case(make_case: MakeCase) -> Case:
    return make_case(agency=OWNER, district="MZ0702", victim_name="Zélia Inventada")


def _refer(actor: Any, case: Case, to_agency: Agency, reason: str, **kwargs: Any) -> Referral:
    """Refer with a consent record that permits sharing (recorded by the system, so that a refused
    referral still finds one)."""
    consent = actions.record_consent(
        SYSTEM, case, purpose="Referral", child_consent="given", caregiver_consent="given"
    )
    return actions.refer_case(actor, case, to_agency, reason=reason, consent=consent, **kwargs)


def _reads(user: User, case: Case) -> bool:
    """Whether `user` can read `case`, asked through all three doors (which must agree)."""
    by_rule = can(user, CasePermission.READ, case)
    by_list = visible_cases(user).filter(pk=case.pk).exists()
    try:
        get_case_for_user(user, case.reference)
        by_loader = True
    except Http404:
        by_loader = False
    assert by_rule == by_list == by_loader
    return by_rule


def test_referral_accepted_then_revoked(people: dict[str, User], case: Case) -> None:
    sender, receiver = people["sender"], people["receiver"]
    mark = _mark()

    consent = actions.record_consent(
        sender,
        case,
        purpose="Referral to SERNIC",
        child_consent="not_asked",
        caregiver_consent="refused",
        legal_basis="criminal_offence",
        justification="A public crime against a child.",
    )
    referral = actions.refer_case(
        sender,
        case,
        _agency(PARTNER),
        reason="Needs an investigation.",
        consent=consent,
        shared_fields=["offender_identity", "narrative"],
        urgency="high",
    )
    assert referral.status == "pending"
    assert referral.shared_fields == ["narrative", "offender_identity"]  # in ShareableField order
    assert referral.respond_by == referral.created_at + dt.timedelta(hours=24)  # high: acknowledge in 24 h
    assert not _reads(receiver, case)  # pending grants nothing

    actions.decide_referral(receiver, referral, accept=True)
    referral.refresh_from_db()
    assert (referral.status, referral.decided_by_id) == ("accepted", receiver.pk)
    assert referral.decided_at is not None
    assert _reads(receiver, case)  # accepted grants read access
    assert can(receiver, CasePermission.READ_IDENTITY, case)
    assert not can(receiver, CasePermission.REFER, case)  # but not the owner's right to refer on

    actions.revoke_referral(sender, referral, reason="Sent to the wrong unit.")
    referral.refresh_from_db()
    assert referral.status == "revoked"
    assert referral.decision_reason == "Sent to the wrong unit."
    assert not _reads(receiver, case)  # revoking takes it back

    r, c = str(referral.pk), str(case.pk)
    # The receiver was refused the case while the referral was pending and after it was revoked.
    denied = AuditEntry.objects.filter(id__gt=mark, action="core:access:denied", object_id=c)
    assert list(denied.values_list("actor_username", "fields")) == [(receiver.username, ["outcome:404"])] * 2
    assert _entries_since(mark) == [
        (
            "cases:consent:create",
            "cases.consentrecord",
            str(consent.pk),
            sender.username,
            ["caregiver_consent", "child_consent", "justification", "legal_basis", "purpose"],
        ),
        (
            "cases:referral:create",
            "cases.referral",
            r,
            sender.username,
            [
                "case.acknowledged_at",
                "case.actioned_at",
                "consent",
                "reason",
                "respond_by",
                "shared_fields",
                "to_agency",
                "urgency",
            ],
        ),
        ("cases:referral:accept", "cases.referral", r, receiver.username, ["status"]),
        ("cases:case:view", "cases.case", c, receiver.username, []),
        ("cases:referral:revoke", "cases.referral", r, sender.username, ["decision_reason", "status"]),
    ]
    assert list(audit.verify()) == []


def test_declined_referral_grants_no_access(people: dict[str, User], case: Case) -> None:
    sender, receiver = people["sender"], people["receiver"]
    mark = _mark()
    referral = _refer(sender, case, _agency(PARTNER), reason="Needs an investigation.")
    actions.decide_referral(receiver, referral, accept=False, reason="Not for us.")
    referral.refresh_from_db()
    assert (referral.status, referral.decided_by_id) == ("declined", receiver.pk)
    assert not _reads(receiver, case)
    assert referral.decision_reason == "Not for us."
    expected = ["cases:consent:create", "cases:referral:create", "cases:referral:decline"]
    assert _audit_since(mark) == expected
    assert _entries_since(mark)[-1][-1] == ["decision_reason", "status"]
    # A declined referral cannot be revoked either: there is nothing left to take back.
    with pytest.raises(ValidationError):
        actions.revoke_referral(sender, referral)
    assert _audit_since(mark) == expected


@pytest.mark.parametrize("who", ["sender", "owner_supervisor", "outsider", "receiver_analyst"])
def test_only_the_receiving_agency_decides(people: dict[str, User], case: Case, who: str) -> None:
    referral = _refer(people["sender"], case, _agency(PARTNER), reason="Needs an investigation.")
    mark = _mark()
    for accept in (True, False):
        with pytest.raises(PermissionDenied):
            actions.decide_referral(
                people[who], Referral.objects.get(pk=referral.pk), accept=accept, reason="Not for us."
            )
    assert Referral.objects.get(pk=referral.pk).status == "pending"
    assert _audit_since(mark) == []


@pytest.mark.parametrize("first", [True, False], ids=["accepted", "declined"])
def test_decided_referral_cannot_be_decided_again(people: dict[str, User], case: Case, first: bool) -> None:
    receiver = people["receiver"]
    referral = _refer(people["sender"], case, _agency(PARTNER), reason="Needs an investigation.")
    stale = Referral.objects.get(pk=referral.pk)  # loaded while still pending
    actions.decide_referral(receiver, referral, accept=first, reason="Not for us.")
    decided = Referral.objects.get(pk=referral.pk)
    mark = _mark()

    with pytest.raises(PermissionDenied):  # the fresh row: the policy refuses
        actions.decide_referral(receiver, decided, accept=not first, reason="Not for us.")
    with pytest.raises(ValidationError):  # a copy loaded before the decision: the action refuses
        actions.decide_referral(receiver, stale, accept=not first, reason="Not for us.")
    with pytest.raises(ValidationError):  # not even the system may overturn a decision
        actions.decide_referral(SYSTEM, decided, accept=not first, reason="Not for us.")

    assert Referral.objects.get(pk=referral.pk).status == ("accepted" if first else "declined")
    assert _audit_since(mark) == []


def test_a_revoked_referral_cannot_be_accepted_from_a_stale_copy(people: dict[str, User], case: Case) -> None:
    """The receiver opened the referral while pending; meanwhile the owner revoked it."""
    sender, receiver = people["sender"], people["receiver"]
    referral = _refer(sender, case, _agency(PARTNER), reason="Needs an investigation.")
    stale = Referral.objects.get(pk=referral.pk)
    actions.revoke_referral(sender, referral)
    mark = _mark()
    with pytest.raises(ValidationError):
        actions.decide_referral(receiver, stale, accept=True)
    assert Referral.objects.get(pk=referral.pk).status == "revoked"
    assert not _reads(receiver, case)
    assert _audit_since(mark) == []


@pytest.mark.parametrize("who", ["receiver", "outsider", "receiver_analyst"])
def test_only_the_owning_agency_revokes(people: dict[str, User], case: Case, who: str) -> None:
    referral = _refer(people["sender"], case, _agency(PARTNER), reason="Needs an investigation.")
    actions.decide_referral(people["receiver"], referral, accept=True)
    mark = _mark()
    with pytest.raises(PermissionDenied):
        actions.revoke_referral(people[who], Referral.objects.get(pk=referral.pk))
    assert Referral.objects.get(pk=referral.pk).status == "accepted"
    assert _audit_since(mark) == []


def test_revoking_twice_is_refused(people: dict[str, User], case: Case) -> None:
    sender = people["sender"]
    referral = _refer(sender, case, _agency(PARTNER), reason="Needs an investigation.")
    stale = Referral.objects.get(pk=referral.pk)
    actions.revoke_referral(sender, referral)
    mark = _mark()
    for copy in (referral, stale):
        with pytest.raises(ValidationError):
            actions.revoke_referral(sender, copy)
    assert _audit_since(mark) == []


def test_referral_needs_another_agency_and_a_reason(people: dict[str, User], case: Case) -> None:
    sender = people["sender"]
    consent = given_consent(case)
    mark = _mark()
    with pytest.raises(ValidationError):
        actions.refer_case(sender, case, _agency(OWNER), reason="To ourselves.", consent=consent)
    for reason in ("", "   "):
        with pytest.raises(ValidationError):
            actions.refer_case(sender, case, _agency(PARTNER), reason=reason, consent=consent)
    assert Referral.objects.count() == 0
    assert _audit_since(mark) == []


@pytest.mark.parametrize("who", ["receiver", "outsider", "receiver_analyst"])
def test_only_the_owning_agency_refers(people: dict[str, User], case: Case, who: str) -> None:
    """Even the agency the case was referred to (and that accepted) cannot pass it on."""
    referral = _refer(people["sender"], case, _agency(PARTNER), reason="Needs an investigation.")
    actions.decide_referral(people["receiver"], referral, accept=True)
    with pytest.raises(PermissionDenied):
        _refer(people[who], case, _agency(THIRD), reason="Passing it on.")
    assert list(Referral.objects.values_list("to_agency__code", flat=True)) == [PARTNER]


# ---------------------------------------------------------------------------------------------
# Assignment and notes (their audit entries)
# ---------------------------------------------------------------------------------------------


def test_supervisor_assigns_to_someone_who_can_work_on_the_case(
    people: dict[str, User], case: Case, make_user: MakeUser
) -> None:
    supervisor, sender = people["owner_supervisor"], people["sender"]
    own_analyst = make_user(Role.ANALYST, agency=OWNER)
    mark = _mark()
    actions.assign_case(supervisor, case, sender)
    assert Case.objects.get(pk=case.pk).assigned_to_id == sender.pk
    for unfit in (people["receiver"], people["receiver_analyst"], own_analyst):
        with pytest.raises(ValidationError):
            actions.assign_case(supervisor, case, unfit)
    with pytest.raises(PermissionDenied):
        actions.assign_case(sender, case, sender)
    assert Case.objects.get(pk=case.pk).assigned_to_id == sender.pk
    # The first assignment acknowledges the case (its time limits): stamped once, in the same entry.
    assert _entries_since(mark) == [
        (
            "cases:case:assign",
            "cases.case",
            str(case.pk),
            supervisor.username,
            ["acknowledged_at", "assigned_to"],
        )
    ]
    assert Case.objects.get(pk=case.pk).acknowledged_at is not None


def test_note_is_audited_and_a_blank_note_refused(people: dict[str, User], case: Case) -> None:
    sender = people["sender"]
    mark = _mark()
    note = actions.add_note(sender, case, "Called the school.")
    with pytest.raises(ValidationError):
        actions.add_note(sender, case, "  ")
    with pytest.raises(PermissionDenied):
        actions.add_note(people["receiver"], case, "Not my case.")
    assert _entries_since(mark) == [
        ("cases:note:create", "cases.casenote", str(note.pk), sender.username, ["text"])
    ]


# ---------------------------------------------------------------------------------------------
# Blind-index look-ups
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["+258 84 123 4567", "00258841234567", "841234567", "(+258) 84-123-45-67"]
)
def test_same_phone_written_differently_is_found(make_case: MakeCase, spelling: str) -> None:
    case = make_case(victim_name="Ana Teste", victim_phone="+258 84 123 4567")
    make_case(victim_name="Outra Pessoa", victim_phone="+258 84 765 4321")
    person = case.persons.get()
    assert list(actions.find_persons_by_phone(spelling)) == [person]


@pytest.mark.parametrize("lookup", ["", "   ", "n/a", "+"])
def test_phone_look_up_without_digits_finds_nobody(make_case: MakeCase, lookup: str) -> None:
    """Persons recorded without a phone have an empty index; an empty look-up must not match them."""
    make_case(victim_name="Sem Telefone")
    make_case(victim_name="Com Telefone", victim_phone="841234567")
    assert list(actions.find_persons_by_phone(lookup)) == []


@pytest.mark.parametrize(
    ("spelling", "birth_year", "found"),
    [
        ("Ana Mária Júnior", 2011, True),
        ("ana maria junior", 2011, True),
        ("ANA  MARIA   JÚNIOR", 2011, True),
        ("  Ána Maria Junior ", 2011, True),
        ("Ana Maria Junior", 2012, False),  # another birth year is another person
        ("Ana Maria Junior", None, False),
        ("Ana Maria", 2011, False),
        ("", 2011, False),
    ],
)
def test_same_name_with_other_accents_and_case_is_found_with_the_birth_year(
    birth_year: int | None, spelling: str, found: bool
) -> None:
    case = _create(SYSTEM)
    person = actions.add_person(SYSTEM, case, role="victim", name="Ana Mária Júnior", birth_year=2011)
    actions.add_person(SYSTEM, case, role="caregiver", name="Ana Mária Júnior", birth_year=1985)
    actions.add_person(SYSTEM, case, role="reporter")  # no name at all
    assert list(actions.find_persons_by_name(spelling, birth_year)) == ([person] if found else [])


# ---------------------------------------------------------------------------------------------
# Atomicity: the audit entry fails after the write, and nothing of the write remains.
# ---------------------------------------------------------------------------------------------


class InjectedFailure(Exception):
    pass


def _db_state() -> dict[str, Any]:
    return {
        "cases": sorted(
            Case.objects.values_list("id", "status", "outcome", "assigned_to_id", "priority"), key=str
        ),
        "forms": CaseForm.objects.count(),
        "platforms": CasePlatform.objects.count(),
        "persons": Person.objects.count(),
        "notes": CaseNote.objects.count(),
        "transitions": Transition.objects.count(),
        "referrals": sorted(
            Referral.objects.values_list("id", "status", "decided_by_id", "decided_at"), key=str
        ),
        "deadlines": sorted(
            Case.objects.values_list(
                "id", "acknowledge_due_at", "action_due_at", "acknowledged_at", "actioned_at"
            ),
            key=str,
        ),
        "merges": sorted(Case.objects.values_list("id", "merged_into_id", "merged_at"), key=str),
        "consents": ConsentRecord.objects.count(),
        "relations": sorted(CaseRelation.objects.values_list("id", "removed_at", "removed_by_id"), key=str),
        "audit": AuditEntry.objects.count(),
        "heads": sorted(AuditHead.objects.values_list("chain", "last_id", "last_hash", "count")),
    }


def _scenarios(people: dict[str, User], case: Case, make_case: MakeCase) -> dict[str, Callable[[], object]]:
    consent = given_consent(case)
    supervisor = people["owner_supervisor"]
    twin, linked, merged, primary = (make_case(agency=OWNER, district="MZ0702") for _ in range(4))
    link = relations.link_cases(SYSTEM, case, linked, reason="same_child")
    relations.merge_case(SYSTEM, merged, primary)
    pending = Referral.objects.create(
        case=case,
        from_agency=case.owning_agency,
        to_agency=_agency(PARTNER),
        reason="Synthetic.",
        created_by=people["sender"],
    )
    accepted = Referral.objects.create(
        case=case,
        from_agency=case.owning_agency,
        to_agency=_agency(THIRD),
        status="accepted",
        reason="Synthetic.",
        created_by=people["sender"],
    )
    sender = people["sender"]
    return {
        "create_case": lambda: _create(
            sender, forms=["grooming"], platforms=["whatsapp"], narrative="Synthetic."
        ),
        "add_person": lambda: actions.add_person(
            sender, case, role="victim", name="Ana Teste", phone="841234567"
        ),
        "transition_case": lambda: actions.transition_case(sender, case, "triaged", reason="Synthetic."),
        "add_note": lambda: actions.add_note(sender, case, "Synthetic note."),
        "assign_case": lambda: actions.assign_case(people["owner_supervisor"], case, sender),
        "refer_case": lambda: actions.refer_case(
            sender, case, _agency("prm"), reason="Synthetic.", consent=consent
        ),
        "refer_with_consent": lambda: actions.refer_with_consent(
            sender,
            case,
            _agency("prm"),
            reason="Synthetic.",
            new_consent={"purpose": "Synthetic.", "child_consent": "given", "caregiver_consent": "given"},
        ),
        "decide_referral": lambda: actions.decide_referral(people["receiver"], pending, accept=True),
        "revoke_referral": lambda: actions.revoke_referral(sender, accepted),
        "record_consent": lambda: actions.record_consent(
            sender, case, purpose="Synthetic.", child_consent="given", caregiver_consent="given"
        ),
        "set_priority": lambda: actions.set_priority(supervisor, case, "high", reason="Synthetic."),
        "link_cases": lambda: relations.link_cases(sender, case, twin, reason="same_offender"),
        "unlink_cases": lambda: relations.unlink_cases(sender, link),
        "merge_case": lambda: relations.merge_case(sender, twin, case),
        "unmerge_case": lambda: relations.unmerge_case(sender, merged),
    }


SCENARIOS = [
    "create_case",
    "add_person",
    "transition_case",
    "add_note",
    "assign_case",
    "refer_case",
    "refer_with_consent",
    "decide_referral",
    "revoke_referral",
    "record_consent",
    "set_priority",
    "link_cases",
    "unlink_cases",
    "merge_case",
    "unmerge_case",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_action_is_atomic_when_the_audit_fails_after_the_write(
    people: dict[str, User],
    case: Case,
    make_case: MakeCase,
    monkeypatch: pytest.MonkeyPatch,
    scenario: str,
) -> None:
    run = _scenarios(people, case, make_case)[scenario]
    real_record = audit.record
    recorded: list[str] = []

    def record_then_fail(*args: Any, **kwargs: Any) -> AuditEntry:
        entry = real_record(*args, **kwargs)  # the entry (and the write before it) exist now...
        recorded.append(entry.action)
        raise InjectedFailure  # ...and then the transaction fails

    before = _db_state()
    monkeypatch.setattr(audit, "record", record_then_fail)
    with pytest.raises(InjectedFailure):
        run()
    monkeypatch.undo()

    assert len(recorded) == 1  # the failure came after the write and its audit entry
    assert _db_state() == before
    assert list(audit.verify()) == []


def test_every_action_is_covered_by_the_atomicity_test() -> None:
    """Every write of the case core and of links and merges (the other action modules have their own)."""
    from amparo.cases.actions import core

    public = {
        name
        for module in (core, relations)
        for name in dir(module)
        if not name.startswith("_")
        and callable(getattr(module, name))
        and getattr(getattr(module, name), "__module__", "") == module.__name__
    }
    reads = {"find_persons_by_phone", "find_persons_by_name", "check_new_case"}  # they write nothing
    assert public - reads == set(SCENARIOS)
