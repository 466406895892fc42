"""Justice events, interviews of children, and preservation and disclosure requests to service providers.

Each action takes the acting user (or an audit.Actor), checks the policy (amparo.cases.policy, the block
of justice work), runs in one transaction and writes its audit entry there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases import preservation
from amparo.cases.interviews import repeat_interview_warning
from amparo.cases.justice import COMPENSATION_KINDS, SENTENCE_KINDS, permission_for
from amparo.cases.models import (
    Case,
    Interview,
    JusticeEvent,
    JusticeEventKind,
    Person,
    PersonRole,
    PreservationKind,
    PreservationRequest,
    PreservationStatus,
    ServiceProvider,
    Verdict,
)
from amparo.cases.permissions import JusticeAudit, JusticePermission
from amparo.core import audit
from amparo.core.permissions import CorePermission
from amparo.core.policy import can

__all__ = [
    "ANSWER_STATUSES",
    "answer_preservation_request",
    "create_preservation_request",
    "expire_preservation_request",
    "record_interview",
    "record_justice_event",
    "remind_preservation_request",
    "save_service_provider",
    "send_preservation_request",
]

ANSWER_STATUSES = frozenset(
    {
        PreservationStatus.ACKNOWLEDGED,
        PreservationStatus.FULFILLED,
        PreservationStatus.PARTIAL,
        PreservationStatus.REFUSED,
    }
)
MAX_IDENTIFIERS = 100


def _user(actor: Any) -> Any:
    return actor.user if isinstance(actor, audit.Actor) else actor


def _require(actor: Any, permission: Any, obj: Any = None) -> None:
    if isinstance(actor, audit.Actor):
        if actor.user is None:
            return  # the system or a channel acting on its own behalf (imports, synchronisation)
        actor = actor.user  # a staff user acting through a channel keeps their own rights
    if not can(actor, permission, obj):
        raise PermissionDenied


def _not_future(at: dt.datetime | dt.date, what: str) -> None:
    if isinstance(at, dt.datetime):
        if timezone.is_naive(at):
            raise ValidationError(_("Give the time with its time zone."))
        future = at > timezone.now()
    else:
        future = at > timezone.localdate()
    if future:
        raise ValidationError(_("The %(what)s cannot be in the future.") % {"what": what})


def _max_len(value: str, model: Any, field: str) -> None:
    if len(value) > model._meta.get_field(field).max_length:
        raise ValidationError(
            _("%(field)s is too long.")
            % {"field": str(model._meta.get_field(field).verbose_name).capitalize()}
        )


# --- Justice events ----------------------------------------------------------------------------------


def record_justice_event(
    actor: Any,
    case: Case,
    *,
    kind: str,
    occurred_at: dt.datetime,
    court_case_number: str = "",
    court_name: str = "",
    verdict: str = "",
    sentence: str = "",
    amount_mzn: Decimal | int | str | None = None,
    details: str = "",
) -> JusticeEvent:
    """Record one step of the justice chain. Investigators (and prosecutors) record investigation steps;
    prosecutors and court officers record charges and court steps. A verdict is given only on a verdict
    event (and a verdict event needs one), an amount only on compensation events, a sentence only on a
    verdict or sentence event; registering a court case needs its number; nothing happens in the future.
    The status the step suggests is amparo.cases.justice.suggested_transition's business (not forced)."""
    if kind not in JusticeEventKind.values:
        raise ValidationError(_("Unknown justice event."))
    _require(actor, permission_for(kind), case)
    court_case_number = (court_case_number or "").strip()
    court_name = (court_name or "").strip()
    sentence = (sentence or "").strip()
    details = (details or "").strip()
    verdict = verdict or ""
    _not_future(occurred_at, _("date of the event"))
    if verdict not in Verdict.values:
        raise ValidationError(_("Unknown verdict."))
    if kind == JusticeEventKind.VERDICT and not verdict:
        raise ValidationError(_("Give the verdict."))
    if kind != JusticeEventKind.VERDICT and verdict:
        raise ValidationError(_("A verdict is recorded only on a verdict event."))
    if kind == JusticeEventKind.COURT_CASE_REGISTERED and not court_case_number:
        raise ValidationError(_("Give the court case number."))
    if sentence and kind not in SENTENCE_KINDS:
        raise ValidationError(_("A sentence is recorded only on a verdict or sentence event."))
    amount = None
    if amount_mzn not in (None, ""):
        if kind not in COMPENSATION_KINDS:
            raise ValidationError(_("An amount is recorded only on compensation events."))
        try:
            amount = Decimal(str(amount_mzn))
        except InvalidOperation as error:
            raise ValidationError(_("The amount must be a number.")) from error
        if not amount.is_finite() or amount <= 0 or amount >= Decimal("1e12"):
            raise ValidationError(_("The amount must be a positive number of meticais."))
        amount = amount.quantize(Decimal("0.01"))
    _max_len(court_case_number, JusticeEvent, "court_case_number")
    _max_len(court_name, JusticeEvent, "court_name")
    _max_len(sentence, JusticeEvent, "sentence")
    with transaction.atomic():
        event = JusticeEvent.objects.create(
            case=case,
            kind=kind,
            occurred_at=occurred_at,
            court_case_number=court_case_number,
            court_name=court_name,
            verdict=verdict,
            sentence=sentence,
            amount_mzn=amount,
            details=details,
            recorded_by=_user(actor),
        )
        fields = ["kind", "occurred_at"] + [
            name
            for name in ("court_case_number", "court_name", "verdict", "sentence", "amount_mzn", "details")
            if getattr(event, name) not in ("", None)
        ]
        audit.record(actor, JusticeAudit.JUSTICE_EVENT_CREATE, event, fields)
    return event


# --- Interviews ----------------------------------------------------------------------------------------


def record_interview(
    actor: Any,
    case: Case,
    *,
    person: Person | None = None,
    occurred_at: dt.datetime,
    interviewer: Any = None,
    interviewer_name: str = "",
    interviewer_trained: bool,
    support_person_present: bool,
    support_person_role: str = "",
    recorded: bool,
    recording_reference: str = "",
    place: str = "",
    purpose: str = "",
    notes: str = "",
    confirm_repeat: bool = False,
) -> Interview:
    """Record an interview of a child of the case. When the child already had a *recorded* interview
    (amparo.cases.interviews.repeat_interview_warning), another one needs `confirm_repeat=True`: a recorded
    interview should not be repeated. A recorded interview says where the recording is kept."""
    _require(actor, JusticePermission.RECORD_INTERVIEW, case)
    interviewer_name = (interviewer_name or "").strip()
    support_person_role = (support_person_role or "").strip()
    recording_reference = (recording_reference or "").strip()
    place, purpose, notes = (place or "").strip(), (purpose or "").strip(), (notes or "").strip()
    _check_interview(
        case,
        person,
        occurred_at,
        interviewer,
        recorded=recorded,
        support_person_present=support_person_present,
        texts={
            "interviewer_name": interviewer_name,
            "support_person_role": support_person_role,
            "recording_reference": recording_reference,
            "place": place,
            "purpose": purpose,
        },
    )
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()  # one interview decision at a time
        warning = repeat_interview_warning(case, person)
        if warning.needs_confirmation and not confirm_repeat:
            raise ValidationError(
                _("This child already had a recorded interview. Confirm that another interview is necessary.")
            )
        interview = Interview.objects.create(
            case=case,
            person=person,
            occurred_at=occurred_at,
            interviewer=interviewer,
            interviewer_name=interviewer_name,
            interviewer_trained=interviewer_trained,
            support_person_present=support_person_present,
            support_person_role=support_person_role,
            recorded=recorded,
            recording_reference=recording_reference,
            place=place,
            purpose=purpose,
            notes=notes,
            recorded_by=_user(actor),
        )
        audit.record(actor, JusticeAudit.INTERVIEW_CREATE, interview, _interview_fields(interview, warning))
    return interview


def _check_interview(
    case: Case,
    person: Person | None,
    occurred_at: dt.datetime,
    interviewer: Any,
    *,
    recorded: bool,
    support_person_present: bool,
    texts: dict[str, str],
) -> None:
    """What an interview record needs before it is written (`texts`: its short text fields, stripped)."""
    if person is not None and (person.case_id != case.pk or person.role != PersonRole.VICTIM):
        raise ValidationError(_("Choose a child of this case."))
    if interviewer is None and not texts["interviewer_name"]:
        raise ValidationError(_("Say who interviewed the child."))
    if interviewer is not None and not getattr(interviewer, "is_active", False):
        raise ValidationError(_("The interviewer must be an active user."))
    if recorded and not texts["recording_reference"]:
        raise ValidationError(
            _("Say where the recording is kept, so that it can be used instead of a new interview.")
        )
    if texts["support_person_role"] and not support_person_present:
        raise ValidationError(_("A support person's role is given only when one was present."))
    _not_future(occurred_at, _("date of the interview"))
    for name, value in texts.items():
        _max_len(value, Interview, name)


def _interview_fields(interview: Interview, warning: Any) -> list[str]:
    """The audit entry's field names: those always set, those given, and whether it repeats one."""
    fields = ["occurred_at", "interviewer_trained", "support_person_present", "recorded"]
    fields += [
        name
        for name in (
            "person",
            "interviewer",
            "interviewer_name",
            "support_person_role",
            "recording_reference",
            "place",
            "purpose",
            "notes",
        )
        if getattr(interview, name) not in ("", None)
    ]
    if warning:
        fields.append("repeat_confirmed" if warning.needs_confirmation else "repeat")
    return fields


# --- Preservation and disclosure requests --------------------------------------------------------------


def _identifier_lines(identifiers: str | Iterable[str]) -> list[str]:
    lines = identifiers.splitlines() if isinstance(identifiers, str) else list(identifiers)
    return list(dict.fromkeys(line.strip() for line in lines if line and line.strip()))


def create_preservation_request(
    actor: Any,
    case: Case,
    *,
    provider: ServiceProvider,
    kind: str,
    identifiers: str | Iterable[str],
    date_from: dt.date,
    date_to: dt.date,
    legal_basis: str,
) -> PreservationRequest:
    """A draft request to `provider` to preserve (or disclose) the data of `identifiers` (one per line)
    between two dates, on a stated legal basis. Its letter (amparo.cases.letters) can be printed at once;
    `send_preservation_request` starts the deadline."""
    _require(actor, JusticePermission.REQUEST_PRESERVATION, case)
    if kind not in PreservationKind.values:
        raise ValidationError(_("Unknown kind of request."))
    if not provider.active:
        raise ValidationError(_("This provider is not active."))
    lines = _identifier_lines(identifiers)
    if not lines:
        raise ValidationError(_("Give at least one identifier (phone number, account, address or link)."))
    if len(lines) > MAX_IDENTIFIERS:
        raise ValidationError(
            _("A request may name at most %(count)s identifiers.") % {"count": MAX_IDENTIFIERS}
        )
    if date_from > date_to:
        raise ValidationError(_("The period must start before it ends."))
    _not_future(date_from, _("start of the period"))
    legal_basis = (legal_basis or "").strip()
    if not legal_basis:
        raise ValidationError(_("Give the legal basis of the request."))
    with transaction.atomic():
        request = PreservationRequest.objects.create(
            case=case,
            provider=provider,
            kind=kind,
            number=preservation.unused_number(),
            identifiers="\n".join(lines),
            date_from=date_from,
            date_to=date_to,
            legal_basis=legal_basis,
            status=PreservationStatus.DRAFT,
            created_by=_user(actor),
        )
        audit.record(
            actor,
            JusticeAudit.PRESERVATION_CREATE,
            request,
            ["provider", "kind", "number", "identifiers", "date_from", "date_to", "legal_basis", "status"],
        )
    return request


def _require_requesting_agency(actor: Any, request: PreservationRequest) -> None:
    _require(actor, JusticePermission.REQUEST_PRESERVATION, request.case)
    user = _user(actor)
    if user is not None and (request.created_by is None or request.created_by.agency_id != user.agency_id):
        raise PermissionDenied


def send_preservation_request(actor: Any, request: PreservationRequest) -> PreservationRequest:
    """Mark a draft as sent now: its answer is due `provider.response_days` days after today (Maputo)."""
    _require_requesting_agency(actor, request)
    with transaction.atomic():
        locked = (
            PreservationRequest.objects.select_for_update(of=("self",))
            .select_related("provider")
            .get(pk=request.pk)
        )
        if locked.status != PreservationStatus.DRAFT:
            raise ValidationError(_("Only a draft request can be sent."))
        now = timezone.now()
        locked.status = PreservationStatus.SENT
        locked.sent_at = now
        locked.deadline = preservation.deadline_for(now, locked.provider.response_days)
        locked.save(update_fields=["status", "sent_at", "deadline", "updated_at"])
        audit.record(actor, JusticeAudit.PRESERVATION_SEND, locked, ["status", "sent_at", "deadline"])
    request.status, request.sent_at, request.deadline = locked.status, locked.sent_at, locked.deadline
    request.updated_at = locked.updated_at
    return request


def answer_preservation_request(
    actor: Any,
    request: PreservationRequest,
    *,
    status: str,
    note: str = "",
    provider: ServiceProvider | None = None,
) -> PreservationRequest:
    """Record the provider's answer: acknowledged, fulfilled, partly fulfilled or refused.

    `actor` is a staff user of the requesting agency (recording an answer received by letter or e-mail), or
    an `audit.Actor` whose `.user` is None and whose `channel` names an industry organisation answering
    through the industry API. For such an actor pass `provider` (the organisation's ServiceProvider): the
    request must be addressed to it. Without `provider`, the caller has checked that the organisation is
    the request's provider. A late answer is still recorded after the request expired. The person who made
    the request is told. `note` is kept (encrypted) with the date of the answer."""
    if status not in ANSWER_STATUSES:
        raise ValidationError(_("Unknown answer."))
    channel_actor = isinstance(actor, audit.Actor) and actor.user is None
    if channel_actor:
        if provider is not None and provider.pk != request.provider_id:
            raise PermissionDenied
    else:
        _require(actor, JusticePermission.ANSWER_PRESERVATION, request)
    note = (note or "").strip()
    with transaction.atomic():
        locked = (
            PreservationRequest.objects.select_for_update(of=("self",))
            .select_related("case", "created_by", "provider")
            .get(pk=request.pk)
        )
        allowed_from = (
            {PreservationStatus.SENT}
            if status == PreservationStatus.ACKNOWLEDGED
            else {PreservationStatus.SENT, PreservationStatus.ACKNOWLEDGED, PreservationStatus.EXPIRED}
        )
        if locked.status not in allowed_from:
            raise ValidationError(
                _("A request that is %(status)s cannot be answered that way.")
                % {"status": locked.get_status_display()}
            )
        now = timezone.now()
        locked.status = status
        locked.answered_at = now
        fields = ["status", "answered_at"]
        if note:
            stamp = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
            line = f"{stamp} ({PreservationStatus(status).label}): {note}"
            locked.answer_note = f"{locked.answer_note}\n{line}" if locked.answer_note else line
            fields.append("answer_note")
        locked.save(update_fields=[*fields, "updated_at"])
        audit.record(actor, JusticeAudit.PRESERVATION_ANSWER, locked, fields)
        if locked.created_by_id and locked.created_by_id != getattr(_user(actor), "pk", None):
            preservation.notify_requester(
                locked, preservation.PRESERVATION_ANSWERED, f"preservation-answer:{locked.pk}:{status}"
            )
    request.status, request.answered_at, request.answer_note = (
        locked.status,
        locked.answered_at,
        locked.answer_note,
    )
    request.updated_at = locked.updated_at
    return request


def _require_system(actor: Any) -> None:
    if not (isinstance(actor, audit.Actor) and actor.user is None):
        raise PermissionDenied


def remind_preservation_request(
    actor: Any, request: PreservationRequest, *, now: dt.datetime | None = None
) -> PreservationRequest:
    """The reminder job: tell the requester that the provider's answer is late (the system acts)."""
    _require_system(actor)
    now = now or timezone.now()
    with transaction.atomic():
        PreservationRequest.objects.filter(pk=request.pk).update(last_reminder_at=now, updated_at=now)
        request.last_reminder_at = now
        audit.record(actor, JusticeAudit.PRESERVATION_REMIND, request, ["last_reminder_at"])
        preservation.notify_requester(
            request,
            preservation.PRESERVATION_OVERDUE,
            f"preservation-overdue:{request.pk}:{timezone.localdate(now).isoformat()}",
            at=now,
        )
    return request


def expire_preservation_request(
    actor: Any, request: PreservationRequest, *, now: dt.datetime | None = None
) -> PreservationRequest:
    """The reminder job: past the grace period, the request expires without an answer (the system acts)."""
    _require_system(actor)
    now = now or timezone.now()
    with transaction.atomic():
        PreservationRequest.objects.filter(pk=request.pk).update(
            status=PreservationStatus.EXPIRED, updated_at=now
        )
        request.status = PreservationStatus.EXPIRED
        audit.record(actor, JusticeAudit.PRESERVATION_EXPIRE, request, ["status"])
        preservation.notify_requester(
            request, preservation.PRESERVATION_EXPIRED, f"preservation-expired:{request.pk}", at=now
        )
    return request


# --- Service providers (configured in the admin) ----------------------------------------------------------

PROVIDER_FIELDS = (
    "code",
    "name",
    "kind",
    "legal_name",
    "address",
    "email",
    "portal",
    "response_days",
    "active",
)


def save_service_provider(
    actor: Any, provider: ServiceProvider, changed: Iterable[str] = ()
) -> ServiceProvider:
    """Create (no pk yet) or update a service provider; `changed` names the fields edited (for the audit).
    System administrators only (CorePermission.CONFIG_MANAGE)."""
    _require(actor, CorePermission.CONFIG_MANAGE)
    creating = provider.pk is None
    fields = list(PROVIDER_FIELDS) if creating else [f for f in changed if f in PROVIDER_FIELDS]
    if not creating and "code" in fields:
        raise ValidationError(_("A provider's code does not change."))
    provider.full_clean(validate_unique=True)
    with transaction.atomic():
        provider.save()
        audit.record(
            actor,
            JusticeAudit.PROVIDER_CREATE if creating else JusticeAudit.PROVIDER_UPDATE,
            provider,
            fields,
        )
    return provider
