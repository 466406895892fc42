"""Every write of the intake app's reports, receipts and follow-up goes through these functions.

Public channels act as `audit.Actor(channel=...)`; staff act as themselves. Cases are created and
changed only through amparo.cases.actions, inside the same transaction as our own rows and audit
entries, and a function returns only after that transaction has committed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldError, PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cases import actions as case_actions
from amparo.cases.models import Case, Channel, Referral, ReferralStatus
from amparo.cases.taxonomy import RiskFlag
from amparo.cases.workflow import Outcome, Status
from amparo.core import audit, crypto, keys
from amparo.core.models import Agency, AgencyKind, DataKey, District, Province
from amparo.core.policy import can
from amparo.intake import receipts
from amparo.intake.models import (
    ActionTaken,
    Attachment,
    CallerType,
    CaseLink,
    MessageDirection,
    Report,
    ReporterMessage,
    WebSubmission,
    WhoAffected,
)
from amparo.intake.permissions import IntakeAudit, IntakePermission
from amparo.intake.ratelimit import Limit, first_refused
from amparo.lib import envelope

logger = logging.getLogger(__name__)

DEFAULT_WEB_AGENCY = "linha-fala-crianca"
MAX_MESSAGE_CHARS = 4000
MAX_NARRATIVE_CHARS = 5000
MAX_LINK_CHARS = 500
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
MAX_ATTACHMENT_PIXELS = 25_000_000
ATTACHMENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


@dataclass(frozen=True)
class SubmittedReport:
    case: Case
    report: Report
    receipt: str  # the plaintext receipt: shown or read to the reporter once, never stored


@dataclass(frozen=True)
class ReporterView:
    """What a reporter sees with their receipt: nothing that identifies anyone."""

    status: str  # received | handling | referred_police | referred_social | closed
    status_text: str
    messages: list[tuple[str, Any]] = field(default_factory=list)  # (text, sent at), newest last
    new_receipt: str | None = None  # set when a read-aloud receipt was just replaced


STATUS_TEXT = {
    "received": gettext_lazy("We have received your report. Someone will look at it soon."),
    "handling": gettext_lazy("Your report is being handled by a case worker."),
    "referred_police": gettext_lazy("Your report has been passed to the police, who are handling it."),
    "referred_social": gettext_lazy("Your report has been passed to social services, who are handling it."),
    "closed": gettext_lazy("Your report has been closed. Thank you for telling us."),
}
_POLICE_KINDS = {AgencyKind.POLICE, AgencyKind.CRIMINAL_INVESTIGATION, AgencyKind.PROSECUTION}


def _staff(actor: Any) -> Any:
    return actor.user if isinstance(actor, audit.Actor) else actor


def _require(user: Any, permission: IntakePermission, obj: Any = None) -> None:
    if not can(user, permission, obj):
        raise PermissionDenied


# The web form's routing agency is remembered per process for a few seconds (every report needs it).
_WEB_AGENCY_SECONDS = 10.0
_web_agency: list[tuple[Agency, float]] = []


def forget_web_agency() -> None:
    _web_agency.clear()


def default_web_agency() -> Agency:
    """The routing agency of an active web channel if the channels configuration has one, else the
    helpline (remembered for `_WEB_AGENCY_SECONDS`)."""
    now = time.monotonic()
    if _web_agency and _web_agency[0][1] > now:
        return _web_agency[0][0]
    agency = _find_web_agency()
    _web_agency[:] = [(agency, now + _WEB_AGENCY_SECONDS)]
    return agency


def _find_web_agency() -> Agency:
    try:
        channel_model = apps.get_model("intake", "Channel")
    except LookupError:
        channel_model = None
    if channel_model is not None:
        try:
            channel = (
                channel_model.objects.filter(kind="web", active=True).select_related("routing_agency").first()
            )
        except FieldError:
            channel = None
        agency = getattr(channel, "routing_agency", None)
        if agency is not None and agency.active:
            return agency
    return Agency.objects.get(code=DEFAULT_WEB_AGENCY)


def _clean_text(value: str, limit: int, what: str) -> str:
    value = (value or "").replace("\x00", "").strip()
    if len(value) > limit:
        raise ValidationError(
            _("The %(what)s is too long: at most %(limit)d characters.") % {"what": what, "limit": limit}
        )
    return value


@dataclass(frozen=True)
class Answers:
    """What a report says, from any channel, as `_store` files it (a case and its `Report`)."""

    channel_kind: str
    owning_agency: Agency
    forms: list[str]
    platforms: list[str]
    who_affected: str
    province: Province | None
    district: District | None
    narrative: str = ""
    link_or_account: str = ""
    incident_when: str = ""
    callback_phone: str = ""
    callback_consented: bool = False
    language: str = "pt"
    immediate_danger: bool = False
    partial: bool = False
    read_aloud: bool = False
    caller_type: str = ""
    action_taken: str = ""
    suggested_agency: Agency | None = None
    attachment: bytes | None = None
    received_at: dt.datetime | None = None

    # What a stored web report keeps (`WebSubmission.payload`); objects are kept by primary key.
    PAYLOAD = (
        "forms", "platforms", "who_affected", "narrative", "link_or_account", "incident_when",
        "callback_phone", "callback_consented", "language", "immediate_danger",
    )  # fmt: skip

    def payload(self) -> str:
        data = {name: getattr(self, name) for name in self.PAYLOAD}
        data["owning_agency"] = self.owning_agency.pk
        data["province"] = self.province.pk if self.province else None
        data["district"] = self.district.pk if self.district else None
        return json.dumps(data)


def _checked(answers: Answers) -> Answers:
    """ValidationError, or the answers with their texts cleaned as stored (a call-back number given
    without consent to call back is dropped)."""
    if answers.who_affected not in WhoAffected.values:
        raise ValidationError(_("Unknown answer to who is affected."))
    if answers.caller_type and answers.caller_type not in CallerType.values:
        raise ValidationError(_("Unknown caller type."))
    if answers.action_taken and answers.action_taken not in ActionTaken.values:
        raise ValidationError(_("Unknown action taken."))
    callback_phone = _clean_text(answers.callback_phone, 40, _("phone number"))
    return replace(
        answers,
        narrative=_clean_text(answers.narrative, MAX_NARRATIVE_CHARS, _("description")),
        link_or_account=_clean_text(answers.link_or_account, MAX_LINK_CHARS, _("link or account")),
        incident_when=_clean_text(answers.incident_when, 100, _("date")),
        callback_phone=callback_phone if answers.callback_consented else "",
        language=(answers.language or "pt")[:8],
    )


def _create(actor: Any, answers: Answers) -> SubmittedReport:
    answers = _checked(answers)
    if answers.attachment:
        _check_image(answers.attachment)
    receipt, digest = receipts.allocate()  # outside the transaction: Argon2 is the slow part
    try:
        return _store(actor, receipt=receipt, digest=digest, answers=answers)
    except IntegrityError:
        # A receipt is drawn without asking the database first (a collision has a chance of about 10^-16
        # per report); if the unique index refused it, nothing was stored: draw again, checking first.
        if not Report.objects.filter(receipt_hash=digest).exists():
            raise
    receipt, digest = receipts.allocate(check=True)
    return _store(actor, receipt=receipt, digest=digest, answers=answers)


def _store(actor: Any, *, receipt: str, digest: str, answers: Answers) -> SubmittedReport:
    """The case, the report (and screenshot) and their audit entries, in one transaction; the entries
    are appended together at its end (`audit.batch`)."""
    with transaction.atomic(), audit.batch():
        case = case_actions.create_case(
            actor,
            received_at=answers.received_at,
            channel=answers.channel_kind,
            owning_agency=answers.owning_agency,
            forms=answers.forms,
            platforms=answers.platforms,
            province=answers.province,
            district=answers.district,
            narrative=answers.narrative,
            risk_flags=[RiskFlag.IMMEDIATE_DANGER] if answers.immediate_danger else [],
        )
        report = Report(
            case=case,
            channel_kind=answers.channel_kind,
            who_affected=answers.who_affected,
            caller_type=answers.caller_type,
            action_taken=answers.action_taken,
            suggested_agency=answers.suggested_agency,
            language=answers.language,
            link_or_account=answers.link_or_account,
            incident_when=answers.incident_when,
            callback_consented=answers.callback_consented,
            callback_phone=answers.callback_phone,
            partial=answers.partial,
            receipt_hash=digest,
            receipt_read_aloud=answers.read_aloud,
        )
        keys.set_blind_indexes(report)
        report.save(force_insert=True)
        touched = ["channel_kind", "who_affected", "language", "receipt_hash", "partial"]
        touched += [
            name
            for name in (
                "caller_type",
                "action_taken",
                "suggested_agency",
                "link_or_account",
                "incident_when",
                "callback_consented",
                "callback_phone",
            )
            if getattr(report, name) not in ("", None, False)
        ]
        audit.record(actor, IntakeAudit.REPORT_CREATE, report, touched)
        if answers.attachment:
            _store_attachment(actor, report, answers.attachment, None)
    return SubmittedReport(case=case, report=report, receipt=receipt)


def submit_public_report(
    actor: audit.Actor,
    *,
    channel_kind: str,
    owning_agency: Agency,
    forms: list[str],
    platforms: list[str],
    who_affected: str,
    province: Province | None,
    district: District | None,
    narrative: str = "",
    link_or_account: str = "",
    incident_when: str = "",
    callback_phone: str = "",
    callback_consented: bool = False,
    language: str = "pt",
    immediate_danger: bool = False,
    partial: bool = False,
    attachment: bytes | None = None,
) -> SubmittedReport:
    """A report from a public channel (web, SMS, USSD): its case and Report (and a screenshot, if
    one was sent), committed together."""
    if not isinstance(actor, audit.Actor) or actor.user is not None:
        raise PermissionDenied  # staff record calls and visits through record_contact
    if channel_kind not in Channel.values:
        raise ValidationError(_("Unknown channel."))
    parameters = {k: v for k, v in locals().items() if k != "actor"}  # exactly Answers' fields
    return _create(actor, Answers(**parameters))


@dataclass(frozen=True)
class ReceivedReport:
    receipt: str  # the plaintext receipt: shown to the reporter once, never stored ("" when refused)
    refused: Limit | None = None  # the rate limit that refused the report (nothing was stored)


WEB = audit.Actor(channel="web")
# A stored web report is left to its own task this long before the periodic job files it instead.
FILING_GRACE = dt.timedelta(seconds=30)


def submit_web_report(*, limits: Sequence[Limit] = (), **answers: Any) -> ReceivedReport:
    """A report from the public web form, acknowledged (its receipt returned) once it is durably stored.
    `answers` are `submit_public_report`'s keywords (without the channel, which is the web's).

    `limits` are rate-limit buckets taken in the same transaction (`ratelimit.first_refused`): when one
    is empty nothing is stored and the result names it; a report that fails to store takes no token. Pass
    only buckets of this report (the form's once-only nonce): a shared bucket would stay locked until the
    commit and queue every report behind the one before.

    Everything is checked here as opening the case would check it (ValidationError); then the answers are
    stored encrypted with the receipt's hash (`WebSubmission`) and the task that files them as a case and
    report (`tasks.file_web_report` -> `file_web_submission`) in one transaction. The case's received
    time is the submission's. A report with a screenshot is filed at once (the image goes straight to
    its encrypted store, never into a queue)."""
    checked = _checked(Answers(channel_kind=Channel.WEB, **answers))
    if checked.attachment:
        refused = first_refused(*limits)
        if refused is not None:
            return ReceivedReport(receipt="", refused=refused)
        return ReceivedReport(receipt=submit_public_report(WEB, channel_kind=Channel.WEB, **answers).receipt)
    forms, platforms, _flags, province = case_actions.check_new_case(
        channel=Channel.WEB,
        owning_agency=checked.owning_agency,
        forms=checked.forms,
        platforms=checked.platforms,
        province=checked.province,
        district=checked.district,
    )
    payload = replace(checked, forms=forms, platforms=platforms, province=province).payload()
    from amparo.intake import tasks

    for check in (False, True):
        # A receipt is drawn without asking first (a collision has a chance of about 10^-16); if a unique
        # index refuses it, nothing was stored: draw again, asking first.
        receipt, digest = receipts.allocate(check=check)
        try:
            with transaction.atomic():
                refused = first_refused(*limits)
                if refused is not None:
                    return ReceivedReport(receipt="", refused=refused)
                submission = WebSubmission.objects.create(
                    receipt_hash=digest, payload=payload, received_at=timezone.now()
                )
                tasks.enqueue_filing(submission.pk)
        except IntegrityError:
            if check or not WebSubmission.objects.filter(receipt_hash=digest).exists():
                raise
            continue
        return ReceivedReport(receipt=receipt)
    raise AssertionError("unreachable")  # pragma: no cover


def file_web_submission(submission_id: Any) -> Report | None:
    """Open the case and report of a stored web report, with its audit entries, and delete the stored
    answers, in one transaction; None if it was filed already (a repeated task does nothing)."""
    with transaction.atomic():
        submission = WebSubmission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None:
            return None
        data = json.loads(submission.payload)
        agency = Agency.objects.filter(pk=data["owning_agency"], active=True).first()
        if agency is None:  # deactivated since: the report still goes to the web's routing agency
            agency = default_web_agency()
        answers = Answers(
            channel_kind=Channel.WEB,
            owning_agency=agency,
            province=Province.objects.filter(pk=data["province"]).first() if data["province"] else None,
            district=District.objects.filter(pk=data["district"]).first() if data["district"] else None,
            received_at=submission.received_at,
            **{name: data[name] for name in Answers.PAYLOAD},
        )
        digest = submission.receipt_hash
        if Report.objects.filter(receipt_hash=digest).exists():
            # Another report drew the same receipt meanwhile (about 10^-16): file this one under a hash
            # nobody holds rather than lose it; its reporter cannot follow it up by receipt.
            logger.warning("intake.web_receipt_collision submission=%s", submission.pk)
            digest = receipts.receipt_hash(receipts.new_receipt())
        submitted = _store(WEB, receipt="", digest=digest, answers=answers)
        submission.delete()
    return submitted.report


def intake_stalled(older_than: dt.timedelta = dt.timedelta(minutes=2)) -> bool:
    """Whether a web report or an SMS stored more than `older_than` ago is still waiting for the worker
    (a stopped worker: the triage queue says so). Says nothing about how many or whose."""
    from amparo.intake.models import InboundMessage

    before = timezone.now() - older_than
    return (
        WebSubmission.objects.filter(received_at__lt=before).exists()
        or InboundMessage.objects.filter(processed_at__isnull=True, received_at__lt=before).exists()
    )


def file_pending_web_reports(limit: int = 500) -> int:
    """File stored web reports whose task has not done so within `FILING_GRACE`, oldest first (one
    transaction each); return how many were filed."""
    ids = list(
        WebSubmission.objects.filter(received_at__lt=timezone.now() - FILING_GRACE)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    filed = 0
    for pk in ids:
        try:
            filed += file_web_submission(pk) is not None
        except Exception:  # one bad submission must not hold up the others; it is retried next time
            WebSubmission.objects.filter(pk=pk).update(attempts=models.F("attempts") + 1)
            logger.exception("intake.web_filing_failed submission=%s", pk)
    return filed


def wipe_unfiled() -> dict[str, int]:
    """A revoked district node's wipe hook (registered with amparo.core.wipe): erase what intake holds outside any case here —
    web reports not yet filed, SMS messages and conversations, USSD sessions (filed reports go with their
    cases)."""
    from amparo.intake.models import InboundMessage, SmsConversation, UssdSession

    counts: dict[str, int] = {}
    for model in (WebSubmission, InboundMessage, SmsConversation, UssdSession):
        deleted, _by_model = model.objects.all().delete()
        counts[model._meta.label] = deleted
    return counts


def record_contact(
    user: Any,
    *,
    desk: bool,
    immediate_danger: bool,
    caller_type: str,
    forms: list[str],
    platforms: list[str],
    who_affected: str,
    province: Province | None,
    district: District | None,
    action_taken: str,
    suggested_agency: Agency | None = None,
    narrative: str = "",
    link_or_account: str = "",
    callback_phone: str = "",
    callback_consented: bool = False,
    language: str = "pt",
) -> SubmittedReport:
    """A helpline call (console) or a walk-in (desk), owned by the user's agency, with a receipt to read aloud."""
    _require(user, IntakePermission.DESK_RECORD if desk else IntakePermission.HELPLINE_RECORD)
    if not caller_type:
        raise ValidationError(_("Say who called."))
    if suggested_agency is not None and suggested_agency.pk == user.agency_id:
        suggested_agency = None
    answers = {k: v for k, v in locals().items() if k not in ("user", "desk")}  # the rest are Answers' fields
    return _create(
        user,
        Answers(
            channel_kind=Channel.DESK if desk else Channel.HELPLINE,
            owning_agency=user.agency,
            partial=action_taken == ActionTaken.CALL_DROPPED,
            read_aloud=True,
            **answers,
        ),
    )


# ---------------------------------------------------------------------------
# The reporter's side of follow-up


def plain_status(case: Case) -> str:
    if case.status == Status.CLOSED:
        return "closed"
    if case.status in (Status.RECEIVED, Status.TRIAGED):
        return "received"
    referral = (
        Referral.objects.filter(case=case, status__in=[ReferralStatus.PENDING, ReferralStatus.ACCEPTED])
        .select_related("to_agency")
        .order_by("-created_at")
        .first()
    )
    if case.status == Status.REFERRED and referral is not None:
        if referral.to_agency.kind in _POLICE_KINDS:
            return "referred_police"
        if referral.to_agency.kind == AgencyKind.SOCIAL_WELFARE:
            return "referred_social"
    return "handling"


def _replace_read_aloud(actor: audit.Actor, report: Report) -> str | None:
    if not report.receipt_read_aloud:
        return None
    receipt, digest = receipts.allocate(check=True)
    with transaction.atomic():
        updated = Report.objects.filter(pk=report.pk, receipt_read_aloud=True).update(
            receipt_hash=digest, receipt_read_aloud=False
        )
        if not updated:  # replaced concurrently: the old receipt no longer works anyway
            return None
        audit.record(actor, IntakeAudit.RECEIPT_REPLACE, report, ["receipt_hash"])
    report.receipt_hash, report.receipt_read_aloud = digest, False
    return receipt


def reporter_status(receipt: str, *, actor: audit.Actor | None = None) -> ReporterView | None:
    """The status in plain words and the staff messages not yet seen (marked seen), or None.

    A read-aloud receipt (helpline, desk) is replaced on this first use: the view carries the new one.
    """
    actor = actor or audit.Actor(channel="web")
    report = receipts.lookup(receipt)
    if report is None:
        return None
    new_receipt = _replace_read_aloud(actor, report)
    now = timezone.now()
    with transaction.atomic():
        pending = list(
            ReporterMessage.objects.select_for_update()
            .filter(report=report, direction=MessageDirection.TO_REPORTER, seen_by_reporter_at__isnull=True)
            .order_by("created_at")
        )
        if pending:
            ReporterMessage.objects.filter(pk__in=[m.pk for m in pending]).update(seen_by_reporter_at=now)
        audit.record(
            actor, IntakeAudit.STATUS_VIEW, report, ["status", "messages"] if pending else ["status"]
        )
    code = plain_status(report.case)
    return ReporterView(
        status=code,
        status_text=str(STATUS_TEXT[code]),
        messages=[(m.text, m.created_at) for m in pending],
        new_receipt=new_receipt,
    )


def _check_image(data: bytes) -> str:
    """The MIME type of a benign-looking screenshot, or ValidationError. Images only, size-limited."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ValidationError(_("The file is empty."))
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationError(_("The file is too large: at most 2 MB."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format
                width, height = image.size
                image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning):
        raise ValidationError(_("Only pictures (PNG, JPEG, WebP or GIF) can be sent.")) from None
    except Image.DecompressionBombError:
        raise ValidationError(_("The picture is too large.")) from None
    if kind not in ATTACHMENT_TYPES:
        raise ValidationError(_("Only pictures (PNG, JPEG, WebP or GIF) can be sent."))
    if width * height > MAX_ATTACHMENT_PIXELS:
        raise ValidationError(_("The picture is too large."))
    return ATTACHMENT_TYPES[kind]


def attachment_aad(attachment: Attachment) -> bytes:
    """The associated data of an attachment's sealed bytes: its id (registered with core.keys, which
    re-encrypts attachments when the field data key rotates)."""
    return f"intake.attachment:{attachment.pk}".encode()


def _store_attachment(actor: Any, report: Report, data: bytes, message: ReporterMessage | None) -> Attachment:
    """Seal the bytes under the active field data key; the attachment id is the associated data."""
    content_type = _check_image(data)
    key_pk, key = crypto.active_key(DataKey.Purpose.FIELD)
    attachment = Attachment(report=report, message=message, content_type=content_type, size=len(data))
    attachment.key_pk = key_pk
    attachment.sealed = envelope.seal(key, data, attachment_aad(attachment))
    attachment.save(force_insert=True)
    audit.record(actor, IntakeAudit.ATTACHMENT_ADD, attachment, ["sealed", "content_type"])
    return attachment


def open_attachment(attachment: Attachment) -> bytes:
    """The plaintext of an attachment (for staff views that check access first)."""
    try:
        return envelope.open_sealed(
            crypto.data_key(attachment.key_pk),
            bytes(attachment.sealed),
            attachment_aad(attachment),
        )
    except envelope.DecryptionError:
        raise crypto.IntegrityAlarm(f"attachment {attachment.pk} failed authentication") from None


def validate_attachment(data: bytes) -> None:
    """Raise ValidationError if these bytes would be refused as an attachment (for forms)."""
    _check_image(data)


def add_reporter_reply(
    actor: audit.Actor, receipt: str, text: str, *, attachment: bytes | None = None
) -> bool:
    """The reporter adds information with their receipt. False if the receipt matches nothing."""
    text = _clean_text(text, MAX_MESSAGE_CHARS, _("message"))
    if not text and not attachment:
        raise ValidationError(_("Write a message or choose a picture to send."))
    if attachment:
        _check_image(attachment)
    report = receipts.lookup(receipt)
    if report is None:
        return False
    _replace_read_aloud(actor, report)
    with transaction.atomic():
        message = ReporterMessage.objects.create(
            report=report, direction=MessageDirection.FROM_REPORTER, text=text
        )
        audit.record(actor, IntakeAudit.REPORTER_REPLY, message, ["text"] if text else [])
        if attachment:
            _store_attachment(actor, report, attachment, message)
    return True


# ---------------------------------------------------------------------------
# The staff side


def report_for_case(case: Case) -> Report | None:
    return Report.objects.filter(case=case).first()


def staff_message_reporter(user: Any, case: Case, text: str) -> ReporterMessage:
    """A case worker writes to the anonymous reporter; they see it the next time they follow up."""
    _require(user, IntakePermission.MESSAGE_REPORTER, case)
    report = report_for_case(case)
    if report is None:
        raise ValidationError(
            _("This case did not come from a public report: there is no reporter to write to.")
        )
    text = _clean_text(text, MAX_MESSAGE_CHARS, _("message"))
    if not text:
        raise ValidationError(_("A message cannot be empty."))
    with transaction.atomic():
        message = ReporterMessage.objects.create(
            report=report, direction=MessageDirection.TO_REPORTER, text=text, author=user
        )
        audit.record(user, IntakeAudit.STAFF_MESSAGE, message, ["text"])
    return message


def read_reporter_messages(user: Any, case: Case) -> list[ReporterMessage]:
    """Every message of a case's report, oldest first; the reporter's replies are marked read (audited)."""
    _require(user, IntakePermission.MESSAGE_REPORTER, case)
    report = report_for_case(case)
    if report is None:
        return []
    with transaction.atomic():
        messages = list(report.messages.select_related("author").prefetch_related("attachments"))
        unread = [
            m.pk for m in messages if m.direction == MessageDirection.FROM_REPORTER and not m.read_by_staff_at
        ]
        if unread:
            ReporterMessage.objects.filter(pk__in=unread).update(read_by_staff_at=timezone.now())
        audit.record(user, IntakeAudit.MESSAGES_READ, report, ["messages"] if messages else [])
    return messages


def accept_report(user: Any, case: Case) -> None:
    _require(user, IntakePermission.TRIAGE, case)
    case_actions.transition_case(user, case, Status.TRIAGED, reason=_("Accepted in triage."))


def mark_not_ocsea(user: Any, case: Case, reason: str) -> None:
    _require(user, IntakePermission.TRIAGE, case)
    if not (reason or "").strip():
        raise ValidationError(_("Give a reason for marking the report as not OCSEA."))
    case_actions.transition_case(user, case, Status.CLOSED, reason=reason.strip(), outcome=Outcome.NO_OFFENCE)


def refer_from_triage(
    user: Any,
    case: Case,
    to_agency: Agency,
    reason: str,
    *,
    child_consent: str,
    caregiver_consent: str,
    legal_basis: str = "",
    justification: str = "",
    shared_fields: Iterable[str] = (),
) -> None:
    """Accept the report and refer it in one step (received → triaged → referred), recording the consent
    to share (or the legal basis) that the referral needs. The referral's urgency is the case's priority."""
    _require(user, IntakePermission.TRIAGE, case)
    with transaction.atomic():
        if case.status == Status.RECEIVED:
            case_actions.transition_case(user, case, Status.TRIAGED, reason=_("Accepted in triage."))
        consent = case_actions.record_consent(
            user,
            case,
            purpose=_("Referral to %(agency)s") % {"agency": to_agency.short_name},
            child_consent=child_consent,
            caregiver_consent=caregiver_consent,
            legal_basis=legal_basis,
            justification=justification,
        )
        case_actions.refer_case(
            user,
            case,
            to_agency,
            reason=reason,
            consent=consent,
            shared_fields=shared_fields,
            urgency=case.priority,
        )
        case_actions.transition_case(user, case, Status.REFERRED, reason=reason)


def merge_into(user: Any, case: Case, existing: Case) -> CaseLink:
    """Record that `case` is the same matter as `existing`, and close it as a duplicate (reversible)."""
    _require(user, IntakePermission.TRIAGE, case)
    if existing.pk == case.pk or not can(user, IntakePermission.TRIAGE, existing):
        raise ValidationError(_("Choose another case of your agency to merge with."))
    with transaction.atomic():
        if CaseLink.objects.filter(case=case, undone_at__isnull=True).exists():
            raise ValidationError(_("This case is already merged with another."))
        link = CaseLink.objects.create(case=case, duplicate_of=existing, created_by=user)
        audit.record(user, IntakeAudit.CASE_LINK, link, ["case", "duplicate_of"])
        case_actions.transition_case(
            user, case, Status.CLOSED, reason=_("Merged with an existing case."), outcome=Outcome.DUPLICATE
        )
    return link


def undo_merge(user: Any, link: CaseLink) -> None:
    """Undo a merge: the link is kept as undone and the case goes back to triage."""
    case = link.case
    _require(user, IntakePermission.TRIAGE, case)
    with transaction.atomic():
        locked = CaseLink.objects.select_for_update().get(pk=link.pk)
        if locked.undone_at is not None:
            raise ValidationError(_("This merge has already been undone."))
        locked.undone_at, locked.undone_by = timezone.now(), user
        locked.save(update_fields=["undone_at", "undone_by"])
        audit.record(user, IntakeAudit.CASE_UNLINK, locked, ["undone_at"])
        if case.status == Status.CLOSED:
            case_actions.transition_case(user, case, Status.TRIAGED, reason=_("Merge undone."))
