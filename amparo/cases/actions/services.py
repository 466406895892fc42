"""Writes of the service directory and of service referrals (a child or family sent to a service).

Each function takes the acting user (or an audit Actor: the demo loader, an import), checks the policy,
runs in one transaction and records its audit entry there (field names only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases.models import Case, Person, Service, ServiceKind, ServiceOutcome, ServiceReferral
from amparo.cases.permissions import ServiceAudit, ServicePermission
from amparo.core import audit
from amparo.core.models import District
from amparo.core.policy import can

__all__ = [
    "SERVICE_FIELDS",
    "create_demo_services",
    "create_service",
    "record_service_outcome",
    "refer_to_service",
    "update_service",
]

SERVICE_FIELDS = (
    "name",
    "kind",
    "agency",
    "province",
    "district",
    "is_national",
    "address",
    "phone",
    "email",
    "hours",
    "languages",
    "free_of_charge",
    "notes",
    "is_demo",
    "active",
)
REASON_MAX = 2000


def actor_user(actor: Any) -> Any:
    """The staff user behind an actor, or None for a public channel or the system."""
    return actor.user if isinstance(actor, audit.Actor) else actor


def require(actor: Any, permission: Any, obj: Any = None) -> None:
    """PermissionDenied unless the policy allows it. A channel or the system acting on its own behalf (an
    Actor without a user) has been authorised by its caller; a staff user acting through a channel is
    held to their own rights."""
    user = actor_user(actor)
    if user is None:
        return
    if not can(user, permission, obj):
        raise PermissionDenied


def _check_service(data: dict[str, Any]) -> None:
    if not (data.get("name") or "").strip():
        raise ValidationError(_("A service needs a name."))
    if data.get("kind") not in ServiceKind.values:
        raise ValidationError(_("Unknown type of service."))
    province, district = data.get("province"), data.get("district")
    if district is not None and province is not None and district.province_id != province.pk:
        raise ValidationError(_("The district is not in the chosen province."))
    if data.get("is_national") and (province is not None or district is not None):
        raise ValidationError(_("A national service has no province or district."))
    if not data.get("is_national") and province is None and district is None:
        raise ValidationError(_("Give the service's province or district, or mark it national."))


def create_service(actor: Any, **fields: Any) -> Service:
    """Add a service to the directory (system administrators; the demo loader marks its own is_demo)."""
    require(actor, ServicePermission.MANAGE_DIRECTORY)
    unknown = set(fields) - set(SERVICE_FIELDS)
    if unknown:
        raise TypeError(f"unknown service fields: {sorted(unknown)}")
    if fields.get("district") is not None and fields.get("province") is None:
        fields["province"] = fields["district"].province
    _check_service(fields)
    with transaction.atomic():
        service = Service.objects.create(**fields)
        audit.record(actor, ServiceAudit.SERVICE_CREATE, service, [f for f, v in fields.items() if v])
    return service


def update_service(actor: Any, service: Service, **changes: Any) -> Service:
    require(actor, ServicePermission.MANAGE_DIRECTORY)
    unknown = set(changes) - set(SERVICE_FIELDS)
    if unknown:
        raise TypeError(f"unknown service fields: {sorted(unknown)}")
    if changes.get("district") is not None and changes.get("province") is None:
        changes["province"] = changes["district"].province
    merged = {name: getattr(service, name) for name in SERVICE_FIELDS} | changes
    _check_service(merged)
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, changes[name])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
            audit.record(actor, ServiceAudit.SERVICE_UPDATE, locked, changed)
    for name in changed:
        setattr(service, name, changes[name])
    return service


def _when(actor: Any, case: Case, at: dt.datetime | None) -> dt.datetime:
    """Now for staff; a process (an Actor: demo data, imports, synchronisation) may back-date."""
    if at is None:
        return timezone.now()
    if not isinstance(actor, audit.Actor):
        raise PermissionDenied
    if at > timezone.now():
        raise ValidationError(_("A date in the future cannot be recorded."))
    if at < case.received_at:
        raise ValidationError(_("The date is before the case was received."))
    return at


def refer_to_service(
    actor: Any,
    case: Case,
    *,
    service: Service,
    reason: str,
    person: Person | None = None,
    at: dt.datetime | None = None,
) -> ServiceReferral:
    """Send the child or family of `case` (or one `person` of it) to `service`. The outcome starts
    pending and is recorded later (record_service_outcome)."""
    require(actor, ServicePermission.REFER, case)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the child or family is sent to this service."))
    if len(reason) > REASON_MAX:
        raise ValidationError(_("The reason is too long."))
    if not service.active:
        raise ValidationError(_("That service is no longer active."))
    if service.is_demo and not (settings.DEMO or case.is_demo):
        raise ValidationError(_("Demo services cannot receive real referrals."))
    if person is not None and person.case_id != case.pk:
        raise ValidationError(_("That person is not part of this case."))
    when = _when(actor, case, at)
    with transaction.atomic():
        referral = ServiceReferral.objects.create(
            case=case,
            service=service,
            person=person,
            reason=reason,
            referred_by=actor_user(actor),
            referred_at=when,
        )
        fields = ["service", "reason", "referred_at", "outcome"]
        if person is not None:
            fields.append("person")
        audit.record(actor, ServiceAudit.REFERRAL_CREATE, referral, fields)
    return referral


def record_service_outcome(
    actor: Any, referral: ServiceReferral, *, outcome: str, note: str = ""
) -> ServiceReferral:
    """What came of a service referral. It may be recorded again when more is known (the audit log and
    the timeline keep when)."""
    require(actor, ServicePermission.RECORD_OUTCOME, referral)
    if outcome not in ServiceOutcome.values or outcome == ServiceOutcome.PENDING:
        raise ValidationError(_("Choose what came of the referral."))
    note = (note or "").strip()
    if len(note) > REASON_MAX:
        raise ValidationError(_("The note is too long."))
    with transaction.atomic():
        locked = ServiceReferral.objects.select_for_update().get(pk=referral.pk)
        locked.outcome = outcome
        locked.outcome_note = note
        locked.outcome_at = timezone.now()
        locked.save(update_fields=["outcome", "outcome_note", "outcome_at", "updated_at"])
        fields = ["outcome", "outcome_at"] + (["outcome_note"] if note else [])
        audit.record(actor, ServiceAudit.OUTCOME_RECORD, locked, fields)
    referral.outcome, referral.outcome_note, referral.outcome_at = outcome, note, locked.outcome_at
    return referral


# Demo entries: invented services in each provincial capital, marked in their name, their notes and
# `is_demo` (so they are never shown outside the demo, see amparo.cases.services.directory). Their phone
# numbers are not real (the 000 range).
DEMO_MARK = "[DEMO]"
DEMO_NOTE = "Entrada fictícia de demonstração: este serviço não existe."
DEMO_KINDS = (
    (ServiceKind.PSYCHOSOCIAL, "Centro de Apoio Psicossocial", "Seg-Sex 08:00-15:30"),
    (ServiceKind.SHELTER, "Casa de Acolhimento", "24 horas"),
    (ServiceKind.LEGAL_AID, "Balcão de Assistência Jurídica", "Seg-Sex 08:00-15:30"),
)


def create_demo_services(actor: Any) -> list[Service]:
    """The demo directory (for `seed_demo`): a few invented, clearly marked services in each provincial
    capital. Idempotent: an entry already there (same name) is kept."""
    require(actor, ServicePermission.MANAGE_DIRECTORY)
    created: list[Service] = []
    with transaction.atomic():
        existing = set(Service.objects.filter(is_demo=True).values_list("name", flat=True))
        capitals = District.objects.filter(is_capital=True).select_related("province").order_by("code")
        for number, district in enumerate(capitals):
            for index, (kind, label, hours) in enumerate(DEMO_KINDS):
                name = f"{DEMO_MARK} {label} de {district.name}"
                if name in existing:
                    continue
                service = create_service(
                    actor,
                    name=name,
                    kind=kind,
                    district=district,
                    phone=f"+258 000 {number:02d}{index} 000",
                    hours=hours,
                    languages=["pt"],
                    notes=DEMO_NOTE,
                    is_demo=True,
                )
                created.append(service)
    return created
