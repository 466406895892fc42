"""Every write to cases goes through these functions. Each takes the acting user (or an
audit Actor for a channel), checks the policy, runs in one transaction and records its audit
entry there. Views, APIs, commands and tasks call them; nothing else writes cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases import deadlines, notices
from amparo.cases.consent import consent_permits_sharing
from amparo.cases.models import (
    DISCLOSURE_CODES,
    FORM_CODES,
    PLATFORM_CODES,
    Case,
    CaseForm,
    CaseNote,
    CasePlatform,
    Channel,
    ConsentAnswer,
    ConsentRecord,
    DatePrecision,
    LegalBasis,
    Person,
    Priority,
    Referral,
    ReferralStatus,
    ShareableField,
    Transition,
    new_reference,
)
from amparo.cases.permissions import CaseAudit, CasePermission
from amparo.cases.taxonomy import Mode, RiskFlag, age_band
from amparo.cases.workflow import Status, check_transition
from amparo.core import audit, crypto, keys
from amparo.core.models import Agency, District, Province
from amparo.core.policy import can
from amparo.lib import normalise

__all__ = [
    "add_note",
    "add_person",
    "assign_case",
    "check_new_case",
    "create_case",
    "decide_referral",
    "find_persons_by_name",
    "find_persons_by_phone",
    "record_consent",
    "refer_case",
    "refer_with_consent",
    "revoke_referral",
    "set_priority",
    "transition_case",
]

# Time limits (amparo.cases.deadlines): a case is acknowledged the first time it is triaged or assigned, and
# acted on the first time it is referred, investigated or closed (acting on a case acknowledges it too).
ACKNOWLEDGING = frozenset({Status.TRIAGED, Status.ASSIGNED})
ACTING = frozenset(
    {Status.REFERRED, Status.UNDER_INVESTIGATION, Status.WITH_PROSECUTOR, Status.IN_COURT, Status.CLOSED}
)


def _actor_user(actor: Any) -> Any:
    """The staff user behind an actor, or None for a public channel or the system."""
    return actor.user if isinstance(actor, audit.Actor) else actor


def _when(actor: Any, at: dt.datetime | None) -> dt.datetime:
    """Only a process (an `audit.Actor`: imports, demo data, synchronisation — possibly acting for a
    named user) may back-date a write; a staff user acting interactively acts now."""
    if at is None:
        return timezone.now()
    if not isinstance(actor, audit.Actor):
        raise PermissionDenied
    if at > timezone.now():
        raise ValidationError(_("A date in the future cannot be recorded."))
    return at


def _require(user: Any, permission: CasePermission, obj: Any = None) -> None:
    if isinstance(user, audit.Actor):
        if user.user is None:
            return  # a public channel or the system acting on its own behalf
        user = user.user  # a staff user acting through a channel: their own rights apply
    if not can(user, permission, obj):
        raise PermissionDenied


def _check_codes(values: Iterable[str], allowed: frozenset[str], what: str) -> list[str]:
    values = list(dict.fromkeys(values))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError(
            _("Unknown %(what)s code: %(codes)s.") % {"what": what, "codes": ", ".join(unknown)}
        )
    return values


def _check_place(province: Province | None, district: District | None) -> None:
    if district is not None and province is not None and district.province_id != province.pk:
        raise ValidationError(_("The district is not in the chosen province."))


def _unused_reference() -> str:
    """A fresh random reference; a collision (about 1 in 10^12 per case) draws again."""
    for _attempt in range(10):
        reference = new_reference()
        if not Case.objects.filter(reference=reference).exists():
            return reference
    raise RuntimeError("could not allocate an unused case reference")


def check_new_case(
    *,
    channel: str,
    owning_agency: Agency,
    forms: Iterable[str] = (),
    platforms: Iterable[str] = (),
    province: Province | None = None,
    district: District | None = None,
    risk_flags: Iterable[str] = (),
) -> tuple[list[str], list[str], list[str], Province | None]:
    """The checks `create_case` makes on what a case is opened with, for a caller that stores a report
    now and opens its case later (the public web form): ValidationError, or the forms, platforms and risk
    flags without repeats and the province (the district's when only a district was given)."""
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel."))
    if not owning_agency.active:
        raise ValidationError(_("The agency is not active."))
    forms = _check_codes(forms, FORM_CODES, _("OCSEA form"))
    platforms = _check_codes(platforms, PLATFORM_CODES, _("platform"))
    flags = _check_codes(risk_flags, frozenset(RiskFlag.values), _("risk flag"))
    if district is not None and province is None:
        province = district.province
    _check_place(province, district)
    return forms, platforms, flags, province


def create_case(
    actor: Any,
    *,
    channel: str,
    owning_agency: Agency,
    forms: Iterable[str] = (),
    platforms: Iterable[str] = (),
    priority: str = Priority.NORMAL,
    mode: str = "unknown",
    province: Province | None = None,
    district: District | None = None,
    incident_date: dt.date | None = None,
    incident_date_precision: str = "approximate",
    narrative: str = "",
    risk_flags: Iterable[str] = (),
    received_at: dt.datetime | None = None,
    is_demo: bool = False,
) -> Case:
    """Open a case owned by `owning_agency`. A staff actor may open cases only for their own agency."""
    _require(actor, CasePermission.CREATE)
    user = _actor_user(actor)
    if user is not None and user.agency_id != owning_agency.pk:
        raise PermissionDenied
    if priority not in Priority.values:
        raise ValidationError(_("Unknown priority."))
    if mode not in Mode.values:
        raise ValidationError(_("Unknown mode."))
    if incident_date_precision not in DatePrecision.values:
        raise ValidationError(_("Unknown date precision."))
    forms, platforms, flags, province = check_new_case(
        channel=channel,
        owning_agency=owning_agency,
        forms=forms,
        platforms=platforms,
        province=province,
        district=district,
        risk_flags=risk_flags,
    )
    if RiskFlag.IMMEDIATE_DANGER in flags:
        priority = Priority.IMMEDIATE
    received = _when(actor, received_at)
    acknowledge_due, action_due = deadlines.due_times(priority, received)
    with transaction.atomic():
        case = Case.objects.create(
            reference=_unused_reference(),
            channel=channel,
            owning_agency=owning_agency,
            priority=priority,
            mode=mode,
            province=province,
            district=district,
            incident_date=incident_date,
            incident_date_precision=incident_date_precision,
            narrative=narrative,
            risk_flags=flags,
            received_at=received,
            is_demo=is_demo,
            acknowledge_due_at=acknowledge_due,
            action_due_at=action_due,
        )
        CaseForm.objects.bulk_create([CaseForm(case=case, form=f) for f in forms])
        CasePlatform.objects.bulk_create([CasePlatform(case=case, platform=p) for p in platforms])
        fields = [
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
            "acknowledge_due_at",
            "action_due_at",
        ]
        if narrative:
            fields.append("narrative")
        audit.record(actor, CaseAudit.CREATE, case, fields)
        return case


def add_person(
    actor: Any,
    case: Case,
    *,
    role: str,
    name: str = "",
    phone: str = "",
    address: str = "",
    age: int | None = None,
    birth_year: int | None = None,
    sex: str = "unknown",
    disability: bool | None = None,
    in_school: bool | None = None,
    language: str = "",
    relationship: str = "",
    known_to_child: bool | None = None,
    disclosure: Iterable[str] = (),
) -> Person:
    _require(actor, CasePermission.WRITE, case)
    disclosure = _check_codes(disclosure, DISCLOSURE_CODES, _("disclosure"))
    if age is not None and not 0 <= age <= 120:
        raise ValidationError(_("Age must be between 0 and 120."))
    with transaction.atomic():
        person = Person(
            case=case,
            role=role,
            name=name,
            phone=phone,
            address=address,
            age=age,
            age_band=age_band(age),
            birth_year=birth_year,
            sex=sex,
            disability=disability,
            in_school=in_school,
            language=language,
            relationship=relationship,
            known_to_child=known_to_child,
            disclosure=disclosure,
        )
        keys.set_blind_indexes(person)
        person.full_clean(exclude=["case", "name_index", "phone_index"])
        person.save(force_insert=True)
        touched = [
            f
            for f in (
                "role",
                "name",
                "phone",
                "address",
                "age",
                "birth_year",
                "sex",
                "disability",
                "in_school",
                "language",
                "relationship",
                "known_to_child",
                "disclosure",
            )
            if getattr(person, f) not in ("", None, [])
        ]
        audit.record(actor, CaseAudit.PERSON_ADD, person, touched)
    return person


def find_persons_by_phone(phone: str):  # noqa: ANN201
    """Exact-match look-up through the blind index (no decryption). Callers filter by access."""
    normalised = normalise.phone(phone)
    if not normalised:  # persons without a phone have an empty index: an empty look-up must not list them
        return Person.objects.none()
    return Person.objects.filter(phone_index__in=crypto.blind_index_candidates(normalised))


def find_persons_by_name(name: str, birth_year: int | None):  # noqa: ANN201
    if not normalise.name(name):
        return Person.objects.none()
    return Person.objects.filter(
        name_index__in=crypto.blind_index_candidates(normalise.name_and_birth_year(name, birth_year))
    )


def _check_back_date(case: Case, at: dt.datetime) -> None:
    """A back-dated transition must keep the history in time order: not before the case was
    received or its last transition, and not in the future."""
    last = case.transitions.order_by("-at").values_list("at", flat=True).first()
    if at < case.received_at or (last is not None and at <= last) or at > timezone.now():
        raise ValidationError(
            _("A back-dated change of status must fall after the case's last change and before now.")
        )


def _stamp(case: Case, when: dt.datetime, *, acknowledged: bool, actioned: bool) -> list[str]:
    """Set the case's first acknowledgement and action times (never moved once set); the names set."""
    touched = []
    if (acknowledged or actioned) and case.acknowledged_at is None:
        case.acknowledged_at = when
        touched.append("acknowledged_at")
    if actioned and case.actioned_at is None:
        case.actioned_at = when
        touched.append("actioned_at")
    return touched


def transition_case(
    actor: Any, case: Case, to_status: str, *, reason: str, outcome: str = "", at: dt.datetime | None = None
) -> Transition:
    """Move a case along the workflow (see amparo.cases.workflow for what is allowed).

    `at` back-dates the transition; only the system (imports, demo data, synchronisation) may
    give it: staff transitions happen now.
    """
    _require(actor, CasePermission.TRANSITION, case)
    when = _when(actor, at)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        check_transition(locked.status, to_status, outcome, reason)
        if at is not None:
            _check_back_date(locked, at)
        transition = Transition.objects.create(
            case=locked,
            from_status=locked.status,
            to_status=to_status,
            outcome=outcome,
            actor=_actor_user(actor),
            reason=reason,
            at=when,
        )
        locked.status = to_status
        locked.outcome = outcome
        stamped = _stamp(locked, when, acknowledged=to_status in ACKNOWLEDGING, actioned=to_status in ACTING)
        locked.save(update_fields=["status", "outcome", "updated_at", *stamped])
        fields = ["status", "outcome"] if outcome else ["status"]
        audit.record(actor, CaseAudit.TRANSITION, locked, [*fields, *stamped])
    case.status, case.outcome = locked.status, locked.outcome
    case.acknowledged_at, case.actioned_at = locked.acknowledged_at, locked.actioned_at
    return transition


def add_note(actor: Any, case: Case, text: str) -> CaseNote:
    _require(actor, CasePermission.WRITE, case)
    if not text.strip():
        raise ValidationError(_("A note cannot be empty."))
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=_actor_user(actor), text=text)
        audit.record(actor, CaseAudit.NOTE_ADD, note, ["text"])
    return note


def assign_case(actor: Any, case: Case, assignee: Any) -> Case:
    """A supervisor assigns (or reassigns) a case to a member of an agency with access. Assigning
    acknowledges the case (time limits) and tells the assignee."""
    _require(actor, CasePermission.REASSIGN, case)
    if assignee is not None and not can(assignee, CasePermission.WRITE, case):
        raise ValidationError(_("That person cannot work on this case."))
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        changed = locked.assigned_to_id != (assignee.pk if assignee is not None else None)
        locked.assigned_to = assignee
        stamped = (
            _stamp(locked, timezone.now(), acknowledged=True, actioned=False) if assignee is not None else []
        )
        locked.save(update_fields=["assigned_to", "updated_at", *stamped])
        audit.record(actor, CaseAudit.ASSIGN, locked, ["assigned_to", *stamped])
        # The system acting on its own (imports, demo data) records history: nobody is told.
        by = _actor_user(actor)
        if changed and assignee is not None and by is not None and assignee != by:
            notices.case_assigned(locked, assignee)
    case.assigned_to, case.updated_at = locked.assigned_to, locked.updated_at
    case.acknowledged_at = locked.acknowledged_at
    return case


def set_priority(actor: Any, case: Case, priority: str, *, reason: str) -> Case:
    """The owning agency changes a case's priority; its time limits are recomputed from when it was
    received. The reason is kept as a case note (encrypted, on the timeline)."""
    _require(actor, CasePermission.SET_PRIORITY, case)
    if priority not in Priority.values:
        raise ValidationError(_("Unknown priority."))
    if not (reason or "").strip():
        raise ValidationError(_("Give a reason for the change of priority."))
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.priority == priority:
            raise ValidationError(_("The case already has that priority."))
        if RiskFlag.IMMEDIATE_DANGER in (locked.risk_flags or []) and priority != Priority.IMMEDIATE:
            raise ValidationError(_("A case flagged as immediate danger keeps the immediate priority."))
        old = locked.get_priority_display()
        locked.priority = priority
        locked.acknowledge_due_at, locked.action_due_at = deadlines.due_times(priority, locked.received_at)
        locked.save(update_fields=["priority", "acknowledge_due_at", "action_due_at", "updated_at"])
        audit.record(
            actor, CaseAudit.PRIORITY_CHANGE, locked, ["priority", "acknowledge_due_at", "action_due_at"]
        )
        text = _("Priority changed from %(old)s to %(new)s. Reason: %(reason)s") % {
            "old": old,
            "new": locked.get_priority_display(),
            "reason": reason.strip(),
        }
        note = CaseNote.objects.create(case=locked, author=_actor_user(actor), text=text)
        audit.record(actor, CaseAudit.NOTE_ADD, note, ["text"])
    case.priority, case.acknowledge_due_at, case.action_due_at = (
        locked.priority,
        locked.acknowledge_due_at,
        locked.action_due_at,
    )
    case.updated_at = locked.updated_at
    return case


PURPOSE_MAX = ConsentRecord._meta.get_field("purpose").max_length


def record_consent(
    actor: Any,
    case: Case,
    *,
    purpose: str,
    child_consent: str,
    caregiver_consent: str,
    legal_basis: str = "",
    justification: str = "",
    at: dt.datetime | None = None,
) -> ConsentRecord:
    """Record the child's and the caregiver's answers to sharing, or the legal basis that overrides them
    (with its justification). Recording a refusal is allowed: it is what was said. Whether the record
    permits a referral is amparo.cases.consent's question."""
    _require(actor, CasePermission.RECORD_CONSENT, case)
    when = _when(actor, at)
    purpose = (purpose or "").strip()
    justification = (justification or "").strip()
    if not purpose:
        raise ValidationError(_("Say what the consent is for."))
    if len(purpose) > PURPOSE_MAX:
        raise ValidationError(_("The purpose is too long."))
    if child_consent not in ConsentAnswer.values or caregiver_consent not in ConsentAnswer.values:
        raise ValidationError(_("Unknown consent answer."))
    if legal_basis not in LegalBasis.values:
        raise ValidationError(_("Unknown legal basis."))
    if legal_basis and not justification:
        raise ValidationError(_("Explain why the legal basis applies to this case."))
    with transaction.atomic():
        consent = ConsentRecord.objects.create(
            case=case,
            purpose=purpose,
            child_consent=child_consent,
            caregiver_consent=caregiver_consent,
            legal_basis=legal_basis,
            justification=justification,
            recorded_by=_actor_user(actor),
            recorded_at=when,
        )
        fields = ["purpose", "child_consent", "caregiver_consent"]
        fields += [f for f in ("legal_basis", "justification") if getattr(consent, f)]
        audit.record(actor, CaseAudit.CONSENT_RECORD, consent, fields)
    return consent


SHAREABLE = frozenset(ShareableField.values)


def refer_case(
    actor: Any,
    case: Case,
    to_agency: Agency,
    *,
    reason: str,
    consent: ConsentRecord | None,
    shared_fields: Iterable[str] = (),
    urgency: str = Priority.NORMAL,
    at: dt.datetime | None = None,
) -> Referral:
    """The owning agency refers a case to another agency, which gains access only if it accepts, and
    then sees the case's non-identifying facts plus the `shared_fields` sections chosen here.

    The referral needs a consent record of this case that permits sharing (the child's and the
    caregiver's consent, or a justified legal basis); it must be answered within the acknowledge target
    of its `urgency` (`respond_by`). A back-dated referral (`at`: imports, demo data) notifies nobody.
    """
    _require(actor, CasePermission.REFER, case)
    when = _when(actor, at)
    if to_agency.pk == case.owning_agency_id:
        raise ValidationError(_("A case cannot be referred to the agency that owns it."))
    if not to_agency.active:
        raise ValidationError(_("The agency is not active."))
    if not reason.strip():
        raise ValidationError(_("Give a reason for the referral."))
    if urgency not in Priority.values:
        raise ValidationError(_("Unknown urgency."))
    sections = _check_codes(shared_fields, SHAREABLE, _("information to share"))
    if consent is None or consent.case_id != case.pk:
        raise ValidationError(_("Record the consent to share, or the legal basis, for this case first."))
    if not consent_permits_sharing(consent):
        raise ValidationError(
            _(
                "The consent recorded does not allow sharing: the child and the caregiver must agree, "
                "or a legal basis must be given with its justification."
            )
        )
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        open_referral = Referral.objects.filter(
            case=locked, to_agency=to_agency, status__in=[ReferralStatus.PENDING, ReferralStatus.ACCEPTED]
        )
        if open_referral.exists():
            raise ValidationError(_("This case is already referred to that agency."))
        referral = Referral(
            case=locked,
            from_agency_id=locked.owning_agency_id,
            to_agency=to_agency,
            reason=reason,
            urgency=urgency,
            shared_fields=[s for s in ShareableField.values if s in sections],
            consent=consent,
            respond_by=deadlines.respond_by(urgency, when),
            created_by=_actor_user(actor),
        )
        referral.save(force_insert=True)
        # `respond_by` counts from `when`: the referral's creation time must be that same instant
        # (auto_now_add would take a slightly later clock reading, or ignore a back-dated `at`).
        Referral.objects.filter(pk=referral.pk).update(created_at=when)
        referral.created_at = when
        stamped = _stamp(locked, when, acknowledged=True, actioned=True)
        if stamped:
            locked.save(update_fields=[*stamped, "updated_at"])
        fields = ["to_agency", "reason", "urgency", "consent", "respond_by"]
        if referral.shared_fields:
            fields.append("shared_fields")
        audit.record(actor, CaseAudit.REFERRAL_CREATE, referral, [*fields, *(f"case.{f}" for f in stamped)])
        if at is None:
            notices.referral_made(referral)
    case.acknowledged_at, case.actioned_at = locked.acknowledged_at, locked.actioned_at
    return referral


def refer_with_consent(
    actor: Any,
    case: Case,
    to_agency: Agency,
    *,
    reason: str,
    consent: ConsentRecord | None = None,
    new_consent: dict[str, str] | None = None,
    shared_fields: Iterable[str] = (),
    urgency: str = Priority.NORMAL,
) -> Referral:
    """A referral resting on `consent` (an existing record of the case) or on a consent record made now
    from `new_consent` (`record_consent`'s purpose, answers, legal basis and justification): both in one
    transaction, so that a refused referral keeps no consent record. The case page and the staff API
    both refer through here."""
    if (consent is None) == (new_consent is None):
        raise ValueError("give either an existing consent record or the answers of a new one")
    with transaction.atomic():
        if new_consent is not None:
            consent = record_consent(actor, case, **new_consent)
        return refer_case(
            actor,
            case,
            to_agency,
            reason=reason,
            consent=consent,
            shared_fields=shared_fields,
            urgency=urgency,
        )


def decide_referral(
    actor: Any, referral: Referral, *, accept: bool, reason: str = "", at: dt.datetime | None = None
) -> Referral:
    """The receiving agency accepts (gaining access to the sections shared) or declines (with a reason)
    a pending referral. The person who referred is told."""
    _require(actor, CasePermission.DECIDE_REFERRAL, referral)
    when = _when(actor, at)
    reason = (reason or "").strip()
    if not accept and not reason:
        raise ValidationError(_("Give a reason for declining the referral."))
    with transaction.atomic():
        # Decide on the row as it is now, not on a copy loaded earlier: a referral revoked or
        # decided in the meantime stays as it is.
        locked = Referral.objects.select_for_update().select_related("case").get(pk=referral.pk)
        if locked.status != ReferralStatus.PENDING:
            raise ValidationError(_("Only a pending referral can be accepted or declined."))
        locked.status = ReferralStatus.ACCEPTED if accept else ReferralStatus.DECLINED
        if when < locked.created_at:
            raise ValidationError(_("A referral cannot be decided before it was made."))
        locked.decided_by = _actor_user(actor)
        locked.decided_at = when
        locked.decision_reason = reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"])
        audit.record(
            actor,
            CaseAudit.REFERRAL_ACCEPT if accept else CaseAudit.REFERRAL_DECLINE,
            locked,
            ["status", "decision_reason"] if reason else ["status"],
        )
        if at is None:
            notices.referral_decided(locked, accept)
    referral.status, referral.decided_by, referral.decided_at = (
        locked.status,
        locked.decided_by,
        locked.decided_at,
    )
    referral.decision_reason, referral.updated_at = locked.decision_reason, locked.updated_at
    return referral


def revoke_referral(actor: Any, referral: Referral, *, reason: str = "") -> Referral:
    """The referring agency withdraws access it gave (or a referral not yet answered)."""
    _require(actor, CasePermission.REFER, referral.case)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = Referral.objects.select_for_update().get(pk=referral.pk)
        if locked.status not in (ReferralStatus.PENDING, ReferralStatus.ACCEPTED):
            raise ValidationError(_("Only a pending or accepted referral can be revoked."))
        locked.status = ReferralStatus.REVOKED
        locked.decided_by = _actor_user(actor)
        locked.decided_at = timezone.now()
        locked.decision_reason = reason  # the reason for the latest decision on the referral
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "updated_at"])
        audit.record(
            actor, CaseAudit.REFERRAL_REVOKE, locked, ["status", "decision_reason"] if reason else ["status"]
        )
    referral.status, referral.decided_by, referral.decided_at = (
        locked.status,
        locked.decided_by,
        locked.decided_at,
    )
    referral.decision_reason, referral.updated_at = locked.decision_reason, locked.updated_at
    return referral
