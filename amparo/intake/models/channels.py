"""Channels (web, SMS, USSD, helpline, desk), provider messages and USSD sessions.

No phone number is stored in clear: conversations, sessions and rate limits are keyed by a blind
index (keyed HMAC) of the normalised number. The number itself is kept encrypted only where it is
needed to act: on an outgoing message until the provider reports its fate, and on a USSD session
whose reporter agreed to be called back, until the session closes.
"""

from __future__ import annotations

import json
import uuid
from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _

from amparo.core.fields import EncryptedTextField

__all__ = [
    "Channel",
    "ChannelAudit",
    "ChannelKind",
    "InboundMessage",
    "OutboundMessage",
    "OutboundStatus",
    "Provider",
    "RateBucket",
    "SmsConversation",
    "UssdSession",
]


class ChannelAudit(StrEnum):
    """Audit names of the SMS and USSD channels (`intake:<resource>:<action>`)."""

    CHANNEL_CREATE = "intake:channel:create"
    CHANNEL_UPDATE = "intake:channel:update"
    SMS_RECEIVE = "intake:sms:receive"
    SMS_QUEUE = "intake:sms:queue"
    SMS_SEND = "intake:sms:send"
    SMS_SEND_FAILED = "intake:sms:send_failed"
    SMS_DELIVERY = "intake:sms:delivery"
    USSD_ANSWER = "intake:ussd_session:update"
    USSD_CLOSE = "intake:ussd_session:close"


class ChannelKind(models.TextChoices):
    WEB = "web", _("Web form")
    SMS = "sms", _("SMS")
    USSD = "ussd", _("USSD")
    HELPLINE = "helpline", _("Helpline")
    DESK = "desk", _("Agency desk")


class Provider(models.TextChoices):
    NONE = "", _("None")
    AFRICASTALKING = "africastalking", _("Africa's Talking")
    GENERIC_HTTP = "generic_http", _("Generic HTTP gateway (Kannel, Jasmin)")
    LOG = "log", _("Log only (nothing is sent)")


class Channel(models.Model):
    """One way in for reports. A provider's webhook names the channel by its random UUID4 and proves it
    was given the address with `webhook_secret`, a random token in the callback URL's query string
    (Africa's Talking posts form-encoded callbacks to a URL we configure, so it cannot sign them). The
    token is rotatable (`amparo channels rotate-secret`); a channel without one accepts no webhook.
    `webhook_allow` optionally restricts the source addresses (CIDRs, behind the trusted proxies)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices, blank=True)
    short_code = models.CharField(_("short code or number"), max_length=32, blank=True)
    credentials = EncryptedTextField(_("credentials (JSON)"))
    routing_agency = models.ForeignKey(
        "core.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("routing agency"),
    )
    languages = models.JSONField(_("languages offered"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    webhook_secret = EncryptedTextField(_("webhook secret"))
    webhook_allow = models.JSONField(_("webhook source addresses (CIDRs)"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name

    def credential_map(self) -> dict[str, str]:
        """The decrypted credentials as a dictionary (empty when none or malformed)."""
        if not self.credentials:
            return {}
        try:
            value = json.loads(self.credentials)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class SmsConversation(models.Model):
    """Where one phone (by blind index) stands in the guided SMS report on one channel."""

    class State(models.TextChoices):
        IDLE = "idle", _("Idle")
        WHAT = "what", _("What happened")
        WHO = "who", _("Who is affected")
        PROVINCE = "province", _("Province")
        DETAILS = "details", _("Details")
        CALLBACK = "callback", _("Call-back")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="conversations")
    phone_index = models.CharField(max_length=64, db_index=True)
    language = models.CharField(max_length=8, default="pt")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IDLE)
    answers = models.JSONField(default=dict, blank=True)
    narrative = EncryptedTextField(_("details so far"))
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "phone_index"], name="intake_sms_conversation_unique")
        ]

    def __str__(self) -> str:
        return f"SMS conversation {self.pk} ({self.state})"


class InboundMessage(models.Model):
    """One message a provider delivered to us; (channel, provider id) is unique, so that a repeated
    delivery is recognised when it is stored and never produces a second report or reply.

    The webhook stores the message (with the sender's number, encrypted) and answers; the worker then
    moves its conversation on (`sms.process`), sets `phone_index`, `conversation` and `processed_at`,
    and erases `sender`."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="inbound")
    provider_message_id = models.CharField(max_length=100)
    phone_index = models.CharField(max_length=64, db_index=True, blank=True)
    sender = EncryptedTextField(_("sender"), help_text="Kept only until the message is processed.")
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    text = EncryptedTextField(_("text"))
    link_id = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    late = models.BooleanField(default=False, help_text="Arrived after a newer message of the same phone.")
    conversation = models.ForeignKey(
        SmsConversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_message_id"], name="intake_inbound_provider_id_unique"
            )
        ]

    def __str__(self) -> str:
        return f"inbound SMS {self.pk}"


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class OutboundMessage(models.Model):
    """An SMS to send. The recipient is encrypted and erased once the provider reports delivery or
    failure; the text is encrypted too (it may carry a receipt or a case worker's message)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="outbound")
    in_reply_to = models.OneToOneField(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="reply"
    )
    recipient = EncryptedTextField(_("recipient"))
    phone_index = models.CharField(max_length=64, db_index=True, blank=True)
    text = EncryptedTextField(_("text"))
    encoding = models.CharField(max_length=8, default="gsm7")
    parts = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    final_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["channel", "provider_message_id"], name="intake_outbound_provider_id")
        ]

    def __str__(self) -> str:
        return f"outgoing SMS {self.pk} ({self.status})"


class UssdSession(models.Model):
    """One USSD session. `previous_text` is the provider's last `text`, so that the new input is the
    difference even when the reporter typed a `*` in free text."""

    class State(models.TextChoices):
        LANGUAGE = "language", _("Language")
        MENU = "menu", _("Main menu")
        WHAT = "what", _("What happened")
        CALLBACK = "callback", _("Call-back")
        WHO = "who", _("Who is affected")
        PROVINCE = "province", _("Province")
        DISTRICT = "district", _("District")
        RECEIPT = "receipt", _("Receipt")
        DONE = "done", _("Done")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="ussd_sessions")
    session_id = models.CharField(max_length=100)
    phone_index = models.CharField(max_length=64, db_index=True)
    language = models.CharField(max_length=8, default="pt")
    state = models.CharField(max_length=16, choices=State.choices, default=State.LANGUAGE)
    page = models.PositiveSmallIntegerField(default=0)
    invalid_count = models.PositiveSmallIntegerField(default=0)
    previous_text = EncryptedTextField(_("previous input"))
    answers = models.JSONField(default=dict, blank=True)
    callback_phone = EncryptedTextField(_("call-back number"))
    closed = models.BooleanField(default=False)
    report_submitted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "session_id"], name="intake_ussd_session_unique")
        ]

    def __str__(self) -> str:
        return f"USSD session {self.pk} ({self.state})"


class RateBucket(models.Model):
    """A token bucket for `ratelimit.check_and_consume`; `key_hash` is a keyed hash, never the key."""

    scope = models.CharField(max_length=40)
    key_hash = models.CharField(max_length=64)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key_hash"], name="intake_ratebucket_unique")]

    def __str__(self) -> str:
        return f"rate bucket {self.scope}"
