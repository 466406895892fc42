"""Writes (and the audited export) of the victim rights information package.

- record_rights_delivery: that the package was given — how, when, to whom, in which language, and the
  case's status at the time (the observatory counts child victims with a delivery);
- rights_pdf: the printable package, audited as an export of the case;
- open_rights_page: the reporter opened the web page (or its PDF) with the receipt: audited and recorded
  as a delivery by the web;
- send_rights_sms: the SMS version to the number the reporter consented to be called back on (through the
  sender intake registers), recorded as a delivery.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases import rights
from amparo.cases.actions.services import actor_user, require
from amparo.cases.models import Case, DeliveryMethod, Person, PersonRole, RightsAudience, RightsDelivery
from amparo.cases.permissions import RightsAudit, RightsPermission
from amparo.core import audit

__all__ = ["open_rights_page", "record_rights_delivery", "rights_pdf", "send_rights_sms"]

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)
# Whom a delivery may name: the child it is about, or the child's caregiver.
AUDIENCE_ROLES = {RightsAudience.CHILD: {PersonRole.VICTIM}, RightsAudience.CAREGIVER: {PersonRole.CAREGIVER}}


def _check(case: Case, audience: str, language: str, person: Person | None) -> None:
    if audience not in RightsAudience.values:
        raise ValidationError(_("Say whom the information was given to."))
    if language not in LANGUAGE_CODES:
        raise ValidationError(_("Unknown language."))
    if person is not None:
        if person.case_id != case.pk:
            raise ValidationError(_("That person is not part of this case."))
        if person.role not in AUDIENCE_ROLES[RightsAudience(audience)]:
            raise ValidationError(_("That person is not the child or a caregiver of the child."))


def record_rights_delivery(
    actor: Any,
    case: Case,
    *,
    audience: str,
    method: str,
    language: str,
    person: Person | None = None,
    at: dt.datetime | None = None,
) -> RightsDelivery:
    """Record that the rights package was given. Staff may record a hand-over that happened earlier (not in
    the future, not before the case was received); the case's current status is kept with it."""
    require(actor, RightsPermission.RECORD_DELIVERY, case)
    _check(case, audience, language, person)
    if method not in DeliveryMethod.values:
        raise ValidationError(_("Say how the information was given."))
    now = timezone.now()
    when = at or now
    if when > now:
        raise ValidationError(_("A date in the future cannot be recorded."))
    if when < case.received_at:
        raise ValidationError(_("The date is before the case was received."))
    with transaction.atomic():
        status = Case.objects.filter(pk=case.pk).values_list("status", flat=True).get()
        delivery = RightsDelivery.objects.create(
            case=case,
            person=person,
            audience=audience,
            method=method,
            language=language,
            delivered_at=when,
            delivered_by=actor_user(actor),
            status_at_delivery=status,
        )
        fields = ["audience", "method", "language", "delivered_at", "status_at_delivery"]
        if person is not None:
            fields.append("person")
        audit.record(actor, RightsAudit.DELIVERY_CREATE, delivery, fields)
    return delivery


def rights_pdf(actor: Any, case: Case, *, audience: str, language: str) -> bytes:
    """The printable package for `case` (the caller loaded it through amparo.cases.access). The export is
    audited as a read of the case; recording that it was handed over is a separate step."""
    require(actor, RightsPermission.EXPORT_PACKAGE, case)
    _check(case, audience, language, None)
    package = rights.build_package(case, audience, language)
    data = rights.render_pdf(package)
    audit.record_read(actor, RightsAudit.PACKAGE_EXPORT, case, ["audience", "language"])
    return data


def send_rights_sms(actor: Any, case: Case, *, audience: str, language: str) -> RightsDelivery:
    """Send the SMS version to the number the case's reporter consented to be contacted on, and record the
    delivery. ValidationError when SMS sending is not set up or there is no consented number."""
    require(actor, RightsPermission.SEND_SMS, case)
    _check(case, audience, language, None)
    sender = rights.sms_sender()
    if sender is None:
        raise ValidationError(_("Sending by SMS is not available on this installation."))
    text = rights.sms_text(rights.build_package(case, audience, language))
    with transaction.atomic():
        if not sender(actor, case, text):
            raise ValidationError(
                _("There is no phone number that the reporter agreed to be contacted on, or no SMS channel.")
            )
        return record_rights_delivery(
            actor, case, audience=audience, method=DeliveryMethod.SMS, language=language
        )


def open_rights_page(
    actor: Any, case: Case, *, audience: str, language: str, receipt: str | None = None, pdf: bool = False
) -> tuple[rights.RightsPackage, bytes | None]:
    """The reporter's own page (intake calls this after looking the receipt up; `actor` is the web
    channel): the package for `case` with `receipt` as its reference, and the PDF when asked. The view is
    audited and recorded as a delivery by the web page, in one transaction."""
    language = language if language in LANGUAGE_CODES else settings.LANGUAGE_CODE
    _check(case, audience, language, None)
    package = rights.build_package(case, audience, language, receipt=receipt)
    data = rights.render_pdf(package) if pdf else None
    with transaction.atomic():
        audit.record(
            actor, RightsAudit.PACKAGE_VIEW, case, ["audience", "language"] + (["pdf"] if pdf else [])
        )
        record_rights_delivery(actor, case, audience=audience, method=DeliveryMethod.WEB, language=language)
    return package, data
