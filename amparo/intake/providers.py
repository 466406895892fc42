"""SMS providers behind one small interface, the way `EMAIL_BACKEND` works.

- `AfricasTalkingProvider`: `POST {base}/version1/messaging` with form fields `username`, `to`,
  `message`, `from` and the `apiKey` header (base from `AMPARO_SMS_API_BASE_URL`).
- `GenericHttpProvider`: a Kannel/Jasmin-style aggregator (`sendsms` / `send`): form fields `username`,
  `password`, `to`, `text`, `from`, `coding`, posted to the URL in the channel's credentials.
- `LogProvider`: sends nothing; logs the message id and its size (never the number or the text).

`provider_for(channel)` picks one from the channel's `provider`, unless `AMPARO_SMS_PROVIDER=log`
forces the log provider everywhere. Errors never carry a phone number or message text.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx

from amparo.intake import conf, gsm

if TYPE_CHECKING:
    from amparo.intake.models import Channel

logger = logging.getLogger(__name__)

# Africa's Talking per-recipient status codes: 100 Processed, 101 Sent, 102 Queued. 500 (internal
# error) and 501/502 (gateway errors) are worth retrying; the 4xx codes (invalid number, blacklisted,
# insufficient balance, ...) are not.
_AT_SUCCESS = {100, 101, 102}
_AT_RETRYABLE = {500, 501, 502}
# Codes (and their status words) that say the channel is misconfigured, not the recipient: 401 RiskHold,
# 402 InvalidSenderId, 405 InsufficientBalance. Every message on the channel meets them until an
# administrator fixes the account or the sender id.
_AT_CHANNEL_FAULTS = {401: "RiskHold", 402: "InvalidSenderId", 405: "InsufficientBalance"}
# A failure reason that starts with this is the channel's fault (see `channel_problem`).
CHANNEL_FAULT = "config:"
_SAFE_WORD = re.compile(r"[^A-Za-z0-9 _.:/-]")


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    status: str = "sent"


class ProviderError(Exception):
    """Sending failed. `retryable` says whether trying again later may succeed; `reason` is a short
    code safe to store and log (an HTTP status or the provider's status word)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:100]
        self.retryable = retryable

    @property
    def channel_fault(self) -> bool:
        """The channel's configuration is at fault (sender id, account): no message can go until it is fixed."""
        return self.reason.startswith(CHANNEL_FAULT)


@runtime_checkable
class SmsProvider(Protocol):
    name: str

    def send(self, *, to: str, message: str, sender: str = "") -> SendResult:
        """Hand one message to the provider; raise ProviderError when it is not accepted."""
        ...


def _http_failure(exc: httpx.HTTPError) -> ProviderError:
    return ProviderError(f"transport:{type(exc).__name__}", retryable=True)


def _status_failure(response: httpx.Response) -> ProviderError:
    code = response.status_code
    return ProviderError(f"http:{code}", retryable=code >= 500 or code in {408, 429})


class AfricasTalkingProvider:
    name = "africastalking"

    def __init__(self, *, username: str, api_key: str, base_url: str, timeout: float = 10.0) -> None:
        self.username = username
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(self, *, to: str, message: str, sender: str = "") -> SendResult:
        data = {"username": self.username, "to": to, "message": message}
        if sender:
            data["from"] = sender
        headers = {"apiKey": self.api_key, "Accept": "application/json"}
        try:
            response = httpx.post(
                f"{self.base_url}/version1/messaging", data=data, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise _http_failure(exc) from None
        if response.status_code >= 300:
            raise _status_failure(response)
        return _africastalking_answer(response)


def _word(value: object, size: int = 60) -> str:
    """A provider's word kept as it came, without anything that could be a number or a text we sent."""
    return _SAFE_WORD.sub("", str(value or ""))[:size]


def _africastalking_answer(response: httpx.Response) -> SendResult:
    """Read Africa's Talking's answer to a send: `SMSMessageData` with a `Message` and one entry in
    `Recipients` per number (`status`, usually `statusCode`, `messageId`).

    - `status` "Success" is a success even without `statusCode` (older and some regional answers);
    - a `statusCode` of 100-102 is a success; 500-502 are worth retrying;
    - no recipient at all (`"Recipients": []`) with a `Message` such as "InvalidSenderId" means the
      account refused the request as configured: a permanent failure of the channel, as are the codes
      in `_AT_CHANNEL_FAULTS`; the provider's word is kept in the failure reason."""
    try:
        data = response.json()["SMSMessageData"]
        recipients = data.get("Recipients") or []
        if not isinstance(recipients, list):
            raise TypeError
        if not recipients:
            message = _word(data.get("Message")) or "no recipient"
            raise ProviderError(f"{CHANNEL_FAULT}at:{message}", retryable=False)
        first = recipients[0]
        status = _word(first.get("status"), 40)
        raw_code = str(first.get("statusCode", "")).strip()
        code = int(raw_code) if raw_code else None
        message_id = str(first.get("messageId", ""))[:100]
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ProviderError("malformed_response", retryable=True) from None
    if code in _AT_SUCCESS or (code is None and status.lower() == "success"):
        return SendResult(provider_message_id=message_id, status="sent")
    if code in _AT_CHANNEL_FAULTS or status in _AT_CHANNEL_FAULTS.values():
        raise ProviderError(f"{CHANNEL_FAULT}at:{code or ''}:{status}", retryable=False)
    raise ProviderError(f"at:{code or 0}:{status}", retryable=code in _AT_RETRYABLE)


_JASMIN_ID = re.compile(r'Success\s+"([^"]+)"')


class GenericHttpProvider:
    """Kannel (`/cgi-bin/sendsms`) and Jasmin (`/send`) accept the same form fields: the channel's
    credentials give the full URL, user name and password."""

    name = "generic_http"

    def __init__(self, *, url: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.timeout = timeout

    def send(self, *, to: str, message: str, sender: str = "") -> SendResult:
        seg = gsm.segment(message)
        data = {
            "username": self.username,
            "password": self.password,
            "to": to,
            "text": message,
            "charset": "UTF-8",
            "coding": "0" if seg.encoding == "gsm7" else "2",
        }
        if sender:
            data["from"] = sender
        try:
            response = httpx.post(self.url, data=data, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise _http_failure(exc) from None
        if response.status_code >= 300:
            raise _status_failure(response)
        match = _JASMIN_ID.search(response.text[:500])
        message_id = match.group(1)[:100] if match else f"gw-{uuid.uuid4()}"
        return SendResult(provider_message_id=message_id, status="sent")


class LogProvider:
    """Records that a message would have been sent; the demo and staging use it."""

    name = "log"

    def send(self, *, to: str, message: str, sender: str = "") -> SendResult:
        message_id = f"log-{uuid.uuid4()}"
        seg = gsm.segment(message)
        logger.info("sms.log_provider message=%s encoding=%s parts=%d", message_id, seg.encoding, seg.parts)
        return SendResult(provider_message_id=message_id, status="sent")


PROVIDERS: tuple[type, ...] = (AfricasTalkingProvider, GenericHttpProvider, LogProvider)


def provider_for(channel: Channel) -> SmsProvider:
    """The provider that sends `channel`'s messages."""
    if conf.sms_provider_override() == "log" or channel.provider in {"log", ""}:
        return LogProvider()
    creds = channel.credential_map()
    if channel.provider == "africastalking":
        return AfricasTalkingProvider(
            username=creds.get("username", ""),
            api_key=creds.get("api_key", ""),
            base_url=conf.sms_api_base_url(),
            timeout=conf.sms_timeout(),
        )
    if channel.provider == "generic_http":
        return GenericHttpProvider(
            url=creds.get("url", ""),
            username=creds.get("username", ""),
            password=creds.get("password", ""),
            timeout=conf.sms_timeout(),
        )
    raise ProviderError(f"unknown_provider:{channel.provider}", retryable=False)


def channel_problem(channel: Channel) -> str:
    """The provider's word for why the channel cannot send ("" while it can): the failure reason of its
    latest outgoing SMS refused for the channel's configuration, unless one has been sent since."""
    from amparo.intake.models import OutboundMessage, OutboundStatus

    failed = (
        OutboundMessage.objects.filter(
            channel=channel, status=OutboundStatus.FAILED, failure_reason__startswith=CHANNEL_FAULT
        )
        .order_by("-final_at")
        .values_list("failure_reason", "final_at")
        .first()
    )
    if failed is None:
        return ""
    reason, when = failed
    if when is not None and OutboundMessage.objects.filter(channel=channel, sent_at__gt=when).exists():
        return ""
    return reason[len(CHANNEL_FAULT) :]


# ---------------------------------------------------------------------------
# Channel configuration (the writes behind `amparo channels add` and the demo). They belong with the
# app's other actions and can move to `actions.py` when the intake work is merged.


def create_channel(
    actor: object,
    *,
    name: str,
    kind: str,
    provider: str = "",
    short_code: str = "",
    credentials: dict[str, str] | None = None,
    routing_agency: object = None,
    languages: list[str] | None = None,
    active: bool = True,
) -> Channel:
    """Create a channel (audited). The caller has checked the actor may configure channels (the
    command line runs as the system; there is no web page for this yet)."""
    import json

    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from amparo.core import audit
    from amparo.intake.models import Channel, ChannelAudit, ChannelKind, Provider

    if kind not in ChannelKind.values:
        raise ValidationError(
            f"Unknown channel kind {kind!r}; choose one of {', '.join(ChannelKind.values)}."
        )
    if provider not in Provider.values:
        raise ValidationError(
            f"Unknown provider {provider!r}; choose one of {', '.join(p for p in Provider.values if p)}."
        )
    if kind in (ChannelKind.SMS, ChannelKind.USSD) and not provider:
        raise ValidationError("SMS and USSD channels need a provider (use 'log' to send nothing).")
    known = {code for code, _name in settings.LANGUAGES}
    languages = list(languages or [])
    unknown = [code for code in languages if code not in known]
    if unknown:
        raise ValidationError(
            f"Unknown language codes: {', '.join(unknown)}; choose from {', '.join(sorted(known))}."
        )
    with transaction.atomic():
        channel = Channel.objects.create(
            name=name[:80],
            kind=kind,
            provider=provider,
            short_code=short_code[:32],
            credentials=json.dumps(credentials) if credentials else "",
            routing_agency=routing_agency,
            languages=languages,
            active=active,
            webhook_secret=new_webhook_secret(),
        )
        fields = ["name", "kind", "provider", "short_code", "routing_agency", "languages", "active"]
        fields.append("webhook_secret")
        audit.record(
            actor, ChannelAudit.CHANNEL_CREATE, channel, fields + (["credentials"] if credentials else [])
        )
    return channel


def set_channel_active(actor: object, channel: Channel, active: bool) -> None:
    from django.db import transaction

    from amparo.core import audit
    from amparo.intake.models import Channel, ChannelAudit

    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(active=active)
        audit.record(actor, ChannelAudit.CHANNEL_UPDATE, channel, ["active"])
    channel.active = active


def new_webhook_secret() -> str:
    """A random token for a channel's callback URLs (256 bits, URL-safe)."""
    import secrets

    return secrets.token_urlsafe(32)


def _update_webhook_field(actor: object, channel: Channel, field: str, value: object) -> None:
    """Set one webhook field of `channel` (audited by name only, never the value) and forget the cached
    channels, so that the change holds at once here and within `webhooks.CHANNEL_CACHE_SECONDS` elsewhere."""
    from django.db import transaction

    from amparo.core import audit
    from amparo.intake import webhooks
    from amparo.intake.models import ChannelAudit

    with transaction.atomic():
        setattr(channel, field, value)
        channel.save(update_fields=[field])
        audit.record(actor, ChannelAudit.CHANNEL_UPDATE, channel, [field])
    webhooks.forget_channels()


def rotate_webhook_secret(actor: object, channel: Channel) -> str:
    """Give `channel` a new webhook secret and return it; the old one stops working."""
    secret = new_webhook_secret()
    _update_webhook_field(actor, channel, "webhook_secret", secret)
    return secret


def set_webhook_allow(actor: object, channel: Channel, cidrs: list[str]) -> list[str]:
    """Accept `channel`'s webhooks only from these networks (an empty list: from anywhere). Each CIDR is
    checked; a bad one raises ValidationError naming it. Returns the normalised list."""
    from django.core.exceptions import ValidationError

    from amparo.lib.forwarded import parse_networks

    try:
        networks = [str(net) for net in parse_networks(cidrs)]
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    _update_webhook_field(actor, channel, "webhook_allow", networks)
    return networks
