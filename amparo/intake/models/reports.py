"""Public reports: one Report per public submission (web, SMS, USSD, helpline call, desk visit),
linked one-to-one to its Case; the reporter's anonymous follow-up messages; screenshots sent by
reporters (stored only encrypted); links between duplicate cases made in triage; and the
deployment-wide secret under which receipts are hashed (see docs/decisions/0010-receipts.md).

No IP address, user agent or other device detail is stored for a public report. Identifying
text (links, accounts, call-back phone, messages) is encrypted; blind indexes serve exact
look-ups for duplicate suggestions.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.cases.models import Case
from amparo.core.fields import EncryptedTextField
from amparo.core.models import Agency
from amparo.lib import normalise

__all__ = [
    "ActionTaken",
    "Attachment",
    "CallerType",
    "CaseLink",
    "MessageDirection",
    "Report",
    "ReporterMessage",
    "WebSubmission",
    "WhoAffected",
    "normalise_link",
]


class WhoAffected(models.TextChoices):
    ME = "me", _("Me")
    CHILD_I_KNOW = "child_known", _("A child I know")
    CONTENT_FOUND = "content_found", _("Content I found")
    UNKNOWN = "unknown", _("Not said")


class CallerType(models.TextChoices):
    """Who called the helpline or came to the desk."""

    CHILD = "child", _("Child")
    CAREGIVER = "caregiver", _("Parent or caregiver")
    OTHER_ADULT = "other_adult", _("Other adult")
    PROFESSIONAL = "professional", _("Professional (teacher, health worker, ...)")


class ActionTaken(models.TextChoices):
    ADVICE = "advice", _("Advice and support given")
    EMERGENCY = "emergency", _("Emergency services called")
    REFERRAL_SUGGESTED = "referral_suggested", _("Referral suggested")
    INFORMATION = "information", _("Information only")
    CALL_DROPPED = "call_dropped", _("Call ended before the report was complete")


def normalise_link(value: str) -> str:
    """One form for a link or account name so that spellings of the same one match: case-folded,
    no scheme, no 'www.', no leading '@', no trailing slash or query ('' when nothing is left)."""
    text = normalise.name(value or "")
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text.startswith("www."):
        text = text[4:]
    text = text.split("?", 1)[0].split("#", 1)[0].rstrip("/").strip()
    host, _sep, path = text.partition("/")
    if host.removeprefix("m.") in _PROFILE_HOSTS and path and "/" not in path:
        text = path  # 'tiktok.com/@name' and '@name' name the same account
    return text.lstrip("@").strip()


# Sites whose profile address is '<host>/<account>': a link to a profile and the bare account name match.
_PROFILE_HOSTS = frozenset(
    {
        "facebook.com",
        "instagram.com",
        "tiktok.com",
        "x.com",
        "twitter.com",
        "t.me",
        "snapchat.com",
        "youtube.com",
    }
)


def _link_index_value(report: Report) -> str:
    return normalise_link(report.link_or_account)


def _phone_index_value(report: Report) -> str:
    return normalise.phone(report.callback_phone)


class Report(models.Model):
    """What a public reporter (or a helpline/desk caller) told us beyond the case record itself."""

    BLIND_INDEXES = {"link_index": _link_index_value, "callback_phone_index": _phone_index_value}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="intake_report")
    channel_kind = models.CharField(_("channel"), max_length=16)
    who_affected = models.CharField(
        _("who is affected"), max_length=16, choices=WhoAffected.choices, default=WhoAffected.UNKNOWN
    )
    caller_type = models.CharField(_("caller"), max_length=16, choices=CallerType.choices, blank=True)
    action_taken = models.CharField(_("action taken"), max_length=24, choices=ActionTaken.choices, blank=True)
    suggested_agency = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("suggested referral"),
    )
    language = models.CharField(_("language"), max_length=8, default="pt")
    link_or_account = EncryptedTextField(_("link or account"))
    link_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    incident_when = EncryptedTextField(_("when it happened"))
    callback_consented = models.BooleanField(_("call-back consented"), default=False)
    callback_phone = EncryptedTextField(_("call-back phone"))
    callback_phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    partial = models.BooleanField(_("partial report"), default=False)
    # Argon2id of the receipt under the deployment secret (hex); the receipt itself is never stored.
    receipt_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Helpline and desk receipts are read aloud (someone else may have heard them): replaced on first use.
    receipt_read_aloud = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("public report")
        verbose_name_plural = _("public reports")

    def __str__(self) -> str:
        return f"report {self.pk}"


class MessageDirection(models.TextChoices):
    TO_REPORTER = "to_reporter", _("To the reporter")
    FROM_REPORTER = "from_reporter", _("From the reporter")


class ReporterMessage(models.Model):
    """A message between a case worker and the anonymous reporter, pulled by the reporter with the receipt."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=16, choices=MessageDirection.choices)
    text = EncryptedTextField(_("message"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    seen_by_reporter_at = models.DateTimeField(null=True, blank=True)
    read_by_staff_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["report", "direction", "seen_by_reporter_at"])]

    def __str__(self) -> str:
        return f"message {self.pk} ({self.direction})"


class Attachment(models.Model):
    """A screenshot of threats, chats or profiles sent by a reporter: AES-GCM sealed under a field data
    key (`key_pk`) with the attachment id as associated data, never shown back to the public."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        ReporterMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    key_pk = models.PositiveIntegerField()
    sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"attachment {self.pk}"


class CaseLink(models.Model):
    """A case marked in triage as the same matter as another (kept open or merged). Undoing keeps the row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    duplicate_of = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "duplicate_of"],
                condition=models.Q(undone_at__isnull=True),
                name="one_open_link_per_case_pair",
            )
        ]

    def __str__(self) -> str:
        return f"case link {self.pk}"


class WebSubmission(models.Model):
    """A report sent with the public web form, stored (encrypted) before its receipt is shown and filed as
    a case and report by the worker within seconds (`actions.file_web_submission`), then deleted. Its
    receipt hash moves to the report; until then a follow-up with the receipt says "received"."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    receipt_hash = models.CharField(max_length=64, unique=True, editable=False)
    payload = EncryptedTextField(_("report"))  # JSON of the checked answers
    received_at = models.DateTimeField(_("received"), db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"web submission {self.pk}"
