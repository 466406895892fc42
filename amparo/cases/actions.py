"""Every write to cases goes through these functions. Each takes the acting user (or an
audit Actor for a channel), checks the policy, runs in one transaction and records its audit
entry there. Views, APIs, commands and tasks call them; nothing else writes cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases.models import (
    DISCLOSURE_CODES,
    FORM_CODES,
    PLATFORM_CODES,
    Case,
    CaseForm,
    CaseNote,
    CasePlatform,
    Channel,
    Person,
    Priority,
    Referral,
    ReferralStatus,
    Transition,
    new_reference,
)
from amparo.cases.permissions import CaseAudit, CasePermission
from amparo.cases.taxonomy import RiskFlag, age_band
from amparo.cases.workflow import check_transition
from amparo.core import audit, crypto
from amparo.core.models import Agency, District, Province
from amparo.core.policy import can
from amparo.lib import normalise


def _require(user: Any, permission: CasePermission, obj: Any = None) -> None:
    if isinstance(user, audit.Actor) and user.user is None:
        return  # a public channel or the system acting on its own behalf
    if not can(user, permission, obj):
        raise PermissionDenied


def _check_codes(values: Iterable[str], allowed: frozenset[str], what: str) -> list[str]:
    values = list(dict.fromkeys(values))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValidationError(_("Unknown %(what)s code: %(codes)s.") % {"what": what, "codes": ", ".join(unknown)})
    return values


def _check_place(province: Province | None, district: District | None) -> None:
    if district is not None and province is not None and district.province_id != province.pk:
        raise ValidationError(_("The district is not in the chosen province."))


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
    user = actor.user if isinstance(actor, audit.Actor) else actor
    if user is not None and user.agency_id != owning_agency.pk:
        raise PermissionDenied
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel."))
    if priority not in Priority.values:
        raise ValidationError(_("Unknown priority."))
    forms = _check_codes(forms, FORM_CODES, _("OCSEA form"))
    platforms = _check_codes(platforms, PLATFORM_CODES, _("platform"))
    flags = _check_codes(risk_flags, frozenset(RiskFlag.values), _("risk flag"))
    if district is not None and province is None:
        province = district.province
    _check_place(province, district)
    if RiskFlag.IMMEDIATE_DANGER in flags:
        priority = Priority.IMMEDIATE
    for _attempt in range(5):
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    reference=new_reference(),
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
                    received_at=received_at or timezone.now(),
                    is_demo=is_demo,
                )
                CaseForm.objects.bulk_create([CaseForm(case=case, form=f) for f in forms])
                CasePlatform.objects.bulk_create([CasePlatform(case=case, platform=p) for p in platforms])
                fields = ["channel", "owning_agency", "priority", "mode", "province", "district", "incident_date", "risk_flags", "forms", "platforms"]
                if narrative:
                    fields.append("narrative")
                audit.record(actor, CaseAudit.CREATE, case, fields)
                return case
        except IntegrityError:
            continue  # a reference collision (1 in 10^12): draw again
    raise RuntimeError("could not allocate a unique case reference")


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
        person.name_index = crypto.blind_index(normalise.name_and_birth_year(name, birth_year)) if name else ""
        person.phone_index = crypto.blind_index(normalise.phone(phone)) if phone else ""
        person.full_clean(exclude=["case", "name_index", "phone_index"])
        person.save(force_insert=True)
        touched = [f for f in ("role", "name", "phone", "address", "age", "birth_year", "sex", "disability", "in_school", "language", "relationship", "known_to_child", "disclosure") if getattr(person, f) not in ("", None, [])]
        audit.record(actor, CaseAudit.PERSON_ADD, person, touched)
    return person


def find_persons_by_phone(phone: str):  # noqa: ANN201
    """Exact-match look-up through the blind index (no decryption). Callers filter by access."""
    return Person.objects.filter(phone_index=crypto.blind_index(normalise.phone(phone)))


def find_persons_by_name(name: str, birth_year: int | None):  # noqa: ANN201
    return Person.objects.filter(name_index=crypto.blind_index(normalise.name_and_birth_year(name, birth_year)))


def transition_case(
    actor: Any, case: Case, to_status: str, *, reason: str, outcome: str = "", at: dt.datetime | None = None
) -> Transition:
    """Move a case along the workflow (see amparo.cases.workflow for what is allowed).

    `at` back-dates the transition; only the system (imports, demo data, synchronisation) may
    give it: staff transitions happen now.
    """
    _require(actor, CasePermission.TRANSITION, case)
    if at is not None and not (isinstance(actor, audit.Actor) and actor.user is None):
        raise PermissionDenied
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        check_transition(locked.status, to_status, outcome, reason)
        now = at or timezone.now()
        transition = Transition.objects.create(
            case=locked,
            from_status=locked.status,
            to_status=to_status,
            outcome=outcome,
            actor=actor if not isinstance(actor, audit.Actor) else actor.user,
            reason=reason,
            at=now,
        )
        locked.status = to_status
        locked.outcome = outcome
        locked.save(update_fields=["status", "outcome", "updated_at"])
        audit.record(actor, CaseAudit.TRANSITION, locked, ["status", "outcome"] if outcome else ["status"])
    case.status, case.outcome = locked.status, locked.outcome
    return transition


def add_note(actor: Any, case: Case, text: str) -> CaseNote:
    _require(actor, CasePermission.WRITE, case)
    if not text.strip():
        raise ValidationError(_("A note cannot be empty."))
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=actor, text=text)
        audit.record(actor, CaseAudit.NOTE_ADD, note, ["text"])
    return note


def assign_case(actor: Any, case: Case, assignee: Any) -> Case:
    """A supervisor assigns (or reassigns) a case to a member of an agency with access."""
    _require(actor, CasePermission.REASSIGN, case)
    if assignee is not None and not can(assignee, CasePermission.WRITE, case):
        raise ValidationError(_("That person cannot work on this case."))
    with transaction.atomic():
        case.assigned_to = assignee
        case.save(update_fields=["assigned_to", "updated_at"])
        audit.record(actor, CaseAudit.ASSIGN, case, ["assigned_to"])
    return case


def refer_case(actor: Any, case: Case, to_agency: Agency, *, reason: str) -> Referral:
    _require(actor, CasePermission.REFER, case)
    if to_agency.pk == case.owning_agency_id:
        raise ValidationError(_("A case cannot be referred to the agency that owns it."))
    if not reason.strip():
        raise ValidationError(_("Give a reason for the referral."))
    with transaction.atomic():
        referral = Referral.objects.create(
            case=case, from_agency_id=case.owning_agency_id, to_agency=to_agency, reason=reason, created_by=actor
        )
        audit.record(actor, CaseAudit.REFERRAL_CREATE, referral, ["to_agency", "reason"])
    return referral


def decide_referral(actor: Any, referral: Referral, *, accept: bool) -> Referral:
    _require(actor, CasePermission.DECIDE_REFERRAL, referral)
    with transaction.atomic():
        referral.status = ReferralStatus.ACCEPTED if accept else ReferralStatus.DECLINED
        referral.decided_by = actor
        referral.decided_at = timezone.now()
        referral.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
        audit.record(actor, CaseAudit.REFERRAL_ACCEPT if accept else CaseAudit.REFERRAL_DECLINE, referral, ["status"])
    return referral


def revoke_referral(actor: Any, referral: Referral) -> Referral:
    """The referring agency withdraws access it gave."""
    _require(actor, CasePermission.REFER, referral.case)
    if referral.status not in (ReferralStatus.PENDING, ReferralStatus.ACCEPTED):
        raise ValidationError(_("Only a pending or accepted referral can be revoked."))
    with transaction.atomic():
        referral.status = ReferralStatus.REVOKED
        referral.decided_at = timezone.now()
        referral.save(update_fields=["status", "decided_at", "updated_at"])
        audit.record(actor, CaseAudit.REFERRAL_REVOKE, referral, ["status"])
    return referral
