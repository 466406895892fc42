"""Every write of the industry API and its organisations goes through these functions.

An organisation acts as `audit.Actor(channel="industry:<code>")` (see `organisation_actor`); staff and
commands manage organisations and keys. Cases, persons and notes are written through
amparo.cases.actions and files through amparo.evidence.actions, inside the same transaction as our
own rows and audit entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases import actions as case_actions
from amparo.cases.models import (
    FORM_CODES,
    Case,
    Channel,
    DatePrecision,
    PersonRole,
    PreservationRequest,
    PreservationStatus,
    Priority,
    ServiceProvider,
)
from amparo.cases.taxonomy import Mode
from amparo.cases.workflow import Status
from amparo.core import audit
from amparo.core.models import Agency
from amparo.core.policy import can
from amparo.evidence import actions as evidence_actions
from amparo.evidence import takedown, vault
from amparo.evidence.models import TakedownNotice
from amparo.evidence.storage import get_storage
from amparo.intake import cybertip
from amparo.intake.industry import conf, keys
from amparo.intake.industry.permissions import IndustryAudit, IndustryPermission
from amparo.intake.industry.schemas import ANNOTATIONS, INCIDENT_TYPES, ReportIn
from amparo.intake.models import (
    IndustryApiKey,
    IndustryKind,
    IndustryOrganisation,
    IndustryScope,
    IndustrySubmission,
)
from amparo.lib import cybertip as cybertip_lib

MAX_KEY_DAYS = 730
OPEN_PRESERVATION = (PreservationStatus.SENT, PreservationStatus.ACKNOWLEDGED)


def organisation_actor(organisation: IndustryOrganisation) -> audit.Actor:
    return audit.Actor(channel=f"industry:{organisation.code}")


def _require_manager(actor: Any) -> None:
    """Organisations and keys are managed by the system (commands) or by system administrators."""
    user = actor.user if isinstance(actor, audit.Actor) else actor
    if user is None:
        if isinstance(actor, audit.Actor) and actor.channel.startswith("industry:"):
            raise PermissionDenied  # an organisation never manages organisations
        return
    if not can(user, IndustryPermission.MANAGE):
        raise PermissionDenied


# --------------------------------------------------------------------------- organisations and keys


def create_organisation(
    actor: Any, *, code: str, name: str, kind: str, service_provider: ServiceProvider | None = None
) -> IndustryOrganisation:
    _require_manager(actor)
    if kind not in IndustryKind.values:
        raise ValidationError(_("Unknown kind of organisation."))
    organisation = IndustryOrganisation(
        code=code, name=name.strip(), kind=kind, service_provider=service_provider
    )
    organisation.full_clean()
    with transaction.atomic():
        if service_provider is not None:
            # A provider's preservation requests go to one organisation (preservation_requests_addressed_to).
            taken = IndustryOrganisation.objects.filter(service_provider=service_provider).first()
            if taken is not None:
                raise ValidationError(
                    _(
                        "Preservation requests to this service provider already go to the organisation %(code)s; a service provider is reached through one organisation."
                    )
                    % {"code": taken.code}
                )
        organisation.save(force_insert=True)
        fields = ["code", "name", "kind", "active"] + (["service_provider"] if service_provider else [])
        audit.record(actor, IndustryAudit.ORGANISATION_CREATE, organisation, fields)
    return organisation


def set_organisation_active(
    actor: Any, organisation: IndustryOrganisation, active: bool
) -> IndustryOrganisation:
    _require_manager(actor)
    with transaction.atomic():
        organisation.active = active
        organisation.save(update_fields=["active"])
        audit.record(actor, IndustryAudit.ORGANISATION_UPDATE, organisation, ["active"])
    return organisation


def create_api_key(
    actor: Any,
    organisation: IndustryOrganisation,
    *,
    scopes: Iterable[str],
    name: str = "",
    days: int | None = 365,
) -> tuple[IndustryApiKey, str]:
    """A new key for the organisation; returns the row and the key itself (shown once, never stored)."""
    _require_manager(actor)
    scopes = list(dict.fromkeys(scopes))
    unknown = [s for s in scopes if s not in IndustryScope.values]
    if unknown or not scopes:
        raise ValidationError(
            _("Give one or more scopes from: %(scopes)s.") % {"scopes": ", ".join(IndustryScope.values)}
        )
    if days is not None and not 1 <= days <= MAX_KEY_DAYS:
        raise ValidationError(_("A key lasts between 1 and %(max)d days.") % {"max": MAX_KEY_DAYS})
    key = keys.new_key()
    with transaction.atomic():
        row = IndustryApiKey.objects.create(
            organisation=organisation,
            name=name[:100],
            prefix=keys.key_prefix(key),
            key_hash=keys.hash_key(key),
            scopes=scopes,
            expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
        )
        audit.record(
            actor, IndustryAudit.KEY_CREATE, row, ["organisation", "scopes", "expires_at", "key_hash"]
        )
    return row, key


def revoke_api_key(actor: Any, row: IndustryApiKey) -> IndustryApiKey:
    _require_manager(actor)
    with transaction.atomic():
        row = IndustryApiKey.objects.select_for_update().get(pk=row.pk)
        if row.revoked_at is None:
            row.revoked_at = timezone.now()
            row.save(update_fields=["revoked_at"])
            audit.record(actor, IndustryAudit.KEY_REVOKE, row, ["revoked_at"])
    return row


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class Submitted:
    submission: IndustrySubmission
    created: bool


def receiving_agency() -> Agency:
    code = conf.industry_agency_code()
    agency = Agency.objects.filter(code=code, active=True).first()
    if agency is None:
        raise ValidationError(
            _("The receiving agency %(code)s does not exist or is not active; set AMPARO_INDUSTRY_AGENCY.")
            % {"code": code}
        )
    return agency


def _forms_and_priority(report: ReportIn) -> tuple[list[str], str]:
    forms = list(INCIDENT_TYPES[report.incident_type])
    high = False
    for annotation in report.annotations:
        extra, raises = ANNOTATIONS[annotation]
        forms += [f for f in extra if f not in forms]
        high = high or raises
    priority = Priority.IMMEDIATE if report.escalate else Priority.HIGH if high else Priority.NORMAL
    return [f for f in forms if f in FORM_CODES], priority


def _note(organisation: IndustryOrganisation, report: ReportIn) -> str:
    lines = [
        _("Industry report %(id)s from %(organisation)s.")
        % {"id": report.submission_id, "organisation": organisation.name},
        _("Incident type: %(type)s.") % {"type": report.incident_type},
    ]
    if report.annotations:
        lines.append(_("Annotations: %(list)s.") % {"list": ", ".join(report.annotations)})
    if report.escalate:
        lines.append(_("The organisation marked this report as urgent."))
    for number, user in enumerate(report.reported_users, 1):
        lines.append(_("Reported user %(n)d:") % {"n": number})
        for label, value in (
            (_("screen name"), user.screen_name),
            (_("display name"), user.display_name),
            (_("e-mail address"), user.email),
            (_("phone number"), user.phone),
            (_("platform identifier"), user.esp_identifier),
            (_("profile URL"), user.profile_url),
        ):
            if value:
                lines.append(f"  {label}: {value}")
        for event in user.ip_events:
            lines.append(
                "  "
                + _("IP %(ip)s, %(event)s, %(when)s")
                % {
                    "ip": event.ip + (f":{event.port}" if event.port is not None else ""),
                    "event": event.event or "-",
                    "when": event.at.isoformat() if event.at else "-",
                }
            )
    if report.urls:
        lines.append(_("URLs: %(list)s") % {"list": ", ".join(report.urls)})
    for number, declared in enumerate(report.files, 1):
        hashes = ", ".join(f"{k}={v}" for k in ("md5", "sha1", "sha256") if (v := getattr(declared, k)))
        label = declared.file_id or str(number)
        text = _("File %(id)s: %(hashes)s") % {"id": label, "hashes": hashes}
        if declared.industry_classification:
            text += " " + _("(classified %(class)s by the organisation)") % {
                "class": declared.industry_classification
            }
        lines.append(text)
    return "\n".join(lines)


def _existing_submission(organisation: IndustryOrganisation, submission_id: str) -> IndustrySubmission | None:
    return (
        IndustrySubmission.objects.select_related("case")
        .filter(organisation=organisation, submission_id=submission_id)
        .first()
    )


def submit_report(organisation: IndustryOrganisation, report: ReportIn) -> Submitted:
    """Open an industry case for the report (or return the first answer to the same submission id)."""
    actor = organisation_actor(organisation)
    existing = _existing_submission(organisation, report.submission_id)
    if existing is not None:
        return Submitted(existing, False)
    agency = receiving_agency()
    forms, priority = _forms_and_priority(report)
    location = report.estimated_location
    province, district = cybertip.map_location(
        cybertip_lib.Location(country=location.country, region=location.region, city=location.city)
        if location
        else None
    )
    platforms = [report.platform] if report.platform else cybertip.platforms_for(organisation.name)
    files = [
        {k: v for k in ("md5", "sha1", "sha256") if (v := getattr(f, k))} | {"uploaded": False}
        for f in report.files
    ]
    try:
        with transaction.atomic():
            case = case_actions.create_case(
                actor,
                channel=Channel.INDUSTRY,
                owning_agency=agency,
                forms=forms,
                platforms=platforms,
                priority=priority,
                mode=Mode.ONLINE,
                province=province,
                district=district,
                incident_date=report.incident_at.date() if report.incident_at else None,
                incident_date_precision=DatePrecision.EXACT
                if report.incident_at
                else DatePrecision.APPROXIMATE,
                narrative=report.description.strip(),
            )
            for user in report.reported_users:
                case_actions.add_person(
                    actor,
                    case,
                    role=PersonRole.OFFENDER,
                    name=(user.display_name or user.screen_name).strip(),
                    phone=user.phone.strip(),
                )
            if report.victim_age is not None:
                case_actions.add_person(actor, case, role=PersonRole.VICTIM, age=report.victim_age)
            case_actions.add_note(actor, case, _note(organisation, report))
            submission = IndustrySubmission.objects.create(
                organisation=organisation, submission_id=report.submission_id, case=case, files=files
            )
            audit.record(actor, IndustryAudit.REPORT_SUBMIT, submission, ["submission_id", "case", "files"])
    except IntegrityError:
        existing = _existing_submission(organisation, report.submission_id)
        if existing is None:
            raise
        return Submitted(existing, False)
    return Submitted(submission, True)


def submissions_for(organisation: IndustryOrganisation):  # noqa: ANN201
    """The organisation's own submissions (the only way the API loads them)."""
    return IndustrySubmission.objects.filter(organisation=organisation).select_related("case")


def plain_status(case: Case) -> str:
    """What an organisation is told about its report: received, in_progress or closed (nothing more)."""
    if case.status == Status.CLOSED:
        return "closed"
    if case.status in (Status.RECEIVED, Status.TRIAGED):
        return "received"
    return "in_progress"


def attach_file(
    organisation: IndustryOrganisation, submission: IndustrySubmission, source: Any, *, name: str = ""
) -> evidence_actions.EvidenceItem:
    """Store an uploaded file (a Django UploadedFile) of a submission in the vault. Its hashes must match a file the report
    declared and not uploaded yet; otherwise nothing is kept."""
    if submission.organisation_id != organisation.pk:
        raise PermissionDenied
    actor = organisation_actor(organisation)
    limit = conf.industry_max_file_bytes()
    hashers = {kind: hashlib.new(kind, usedforsecurity=False) for kind in ("md5", "sha1", "sha256")}
    sealer = vault.Sealer(uuid.uuid4(), storage=get_storage(), limit=limit)
    try:
        for chunk in source.chunks(vault.CHUNK_SIZE):
            for hasher in hashers.values():
                hasher.update(chunk)
            sealer.write(chunk)
    except vault.TooLarge:
        raise ValidationError(_("The file is larger than %(limit)d bytes.") % {"limit": limit}) from None
    except BaseException:
        sealer.abort()
        raise
    sealed = sealer.close()
    digests = {kind: hasher.hexdigest() for kind, hasher in hashers.items()}
    storage = get_storage()
    try:
        with transaction.atomic():
            locked = (
                IndustrySubmission.objects.select_for_update().select_related("case").get(pk=submission.pk)
            )
            files = list(locked.files)
            index = next(
                (
                    i
                    for i, declared in enumerate(files)
                    if not declared.get("uploaded")
                    and all(digests[k] == declared[k] for k in ("md5", "sha1", "sha256") if k in declared)
                ),
                None,
            )
            if index is None:
                raise ValidationError(
                    _("The file matches no declared file of this report that is still to be uploaded.")
                )
            item = evidence_actions.add_item(
                actor,
                locked.case,
                _Presealed(sealed),
                original_name=name[:255],
                received_from=organisation.name,
                channel="industry",
                received_by=locked.case.owning_agency,
            )
            files[index] = files[index] | {"uploaded": True}
            locked.files = files
            locked.save(update_fields=["files"])
            audit.record(actor, IndustryAudit.REPORT_FILE, locked, ["files"])
    except BaseException:
        storage.delete(sealed.storage_key)
        raise
    return item


@dataclass
class _Presealed:
    sealed: vault.Sealed


# --------------------------------------------------------------------------- preservation requests


def preservation_requests_addressed_to(organisation: IndustryOrganisation):  # noqa: ANN201
    """The requests sent to this organisation: its service provider's, sent since it was registered, and
    only if it is the organisation that provider's requests go to (the first registered for it; a second
    one is refused by create_organisation). Another organisation mapped to the same provider (an older
    installation could hold one), or one registered after a request was sent, sees none of them. Drafts,
    which were never sent, are not shown."""
    provider = organisation.service_provider_id
    if provider is None:
        return PreservationRequest.objects.none()
    addressee = (
        IndustryOrganisation.objects.filter(service_provider_id=provider)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if addressee != organisation.pk:
        return PreservationRequest.objects.none()
    return PreservationRequest.objects.filter(
        provider_id=provider, sent_at__gte=organisation.created_at
    ).exclude(status=PreservationStatus.DRAFT)


def preservation_requests_for(organisation: IndustryOrganisation):  # noqa: ANN201
    """Open requests addressed to the organisation's service provider (none without one)."""
    return (
        preservation_requests_addressed_to(organisation)
        .filter(status__in=OPEN_PRESERVATION)
        .order_by("sent_at", "number")
    )


def answer_preservation(
    organisation: IndustryOrganisation, request: PreservationRequest, *, status: str, note: str = ""
) -> PreservationRequest:
    from amparo.cases.actions.justice import answer_preservation_request

    if not preservation_requests_addressed_to(organisation).filter(pk=request.pk).exists():
        raise PermissionDenied
    return answer_preservation_request(
        organisation_actor(organisation),
        request,
        status=status,
        note=note,
        provider=organisation.service_provider,
    )


# --------------------------------------------------------------------------- takedown notices


def answer_takedown(
    organisation: IndustryOrganisation, notice: TakedownNotice, *, status: str, note: str = ""
) -> TakedownNotice:
    """The organisation's answer to a notice addressed to it: removed (time to removal measured from the
    notice), refused or not found. A notice addressed to another organisation is refused."""
    if notice.organisation_id != organisation.pk:
        raise PermissionDenied
    return takedown.answer_notice(organisation_actor(organisation), notice, status=status, note=note)
