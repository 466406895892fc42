"""Provider-facing endpoints: SMS inbound, SMS delivery reports and USSD (Africa's Talking formats).

Each is CSRF-exempt (providers cannot hold a CSRF token), POST only, refuses bodies over `MAX_BODY_BYTES`
before reading them, and is authenticated per channel: the callback URL carries the channel's webhook
secret in its query string (`?token=…`, compared in constant time; Africa's Talking cannot sign its
callbacks, so the secret travels in the URL we give it), and a channel may restrict its source addresses
(`webhook_allow`, CIDRs, the client address taken behind `AMPARO_TRUSTED_PROXIES`). An unknown or inactive
channel, a missing or wrong token, or a refused address all give the same bare 404 and write nothing
(not even a rate-limit bucket). Then every field is validated strictly, and requests are rate-limited per
channel and per phone (keyed hash). Responses carry no personal data and no detail of what went wrong
beyond the status code. The access logs write the route name, never the path or the query string
(`amparo serve`'s gunicorn format and `core.middleware.RouteLogFilter`).

The SMS webhook answers 200 only after the inbound message and the task that processes it have
committed (`sms.accept`); the worker then moves the conversation on, files any report and queues the
reply (`sms.process`), which `tasks.send_sms` sends. A provider that gets no 200 sends the message again;
its repeated id is recognised and stored once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from amparo.core.client import client_address
from amparo.intake import conf, ratelimit, sms, ussd
from amparo.intake.models import Channel, ChannelKind
from amparo.lib import forwarded, normalise

logger = logging.getLogger(__name__)

TOKEN_PARAMETER = "token"  # noqa: S105  (the name of the query parameter, not a secret)
MAX_BODY_BYTES = 64 * 1024
MAX_SMS_CHARS = 5000
MAX_USSD_TEXT_CHARS = 2000
_PHONE = re.compile(r"^\+?[0-9][0-9 ]{5,19}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
_SHORT = re.compile(r"^[A-Za-z0-9_.:+*#\- ]{0,40}$")


class BadRequest(Exception):
    """A field is missing or malformed (the message names the field, never its value)."""


def _plain(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


# Active channels are remembered per process for a few seconds: every webhook call needs its channel,
# and channels change rarely. Deactivating a channel takes effect in this process at once
# (`forget_channels`) and in the others within CHANNEL_CACHE_SECONDS. Unknown ids are never remembered
# (a flood of random ids must not grow the cache).
CHANNEL_CACHE_SECONDS = 10.0
_CHANNEL_CACHE_MAX = 256
_channel_lock = threading.Lock()
_channels: dict[tuple[str, str], tuple[Channel, float]] = {}


def forget_channels() -> None:
    with _channel_lock:
        _channels.clear()


def _channel(channel_id: Any, kind: str) -> Channel | None:
    key = (str(channel_id), kind)
    now = time.monotonic()
    with _channel_lock:
        cached = _channels.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    channel = (
        Channel.objects.select_related("routing_agency").filter(pk=channel_id, kind=kind, active=True).first()
    )
    with _channel_lock:
        if channel is None:
            _channels.pop(key, None)
        else:
            if len(_channels) >= _CHANNEL_CACHE_MAX:
                _channels.clear()
            _channels[key] = (channel, now + CHANNEL_CACHE_SECONDS)
    return channel


def _field(request: HttpRequest, name: str, pattern: re.Pattern[str], *, required: bool = True) -> str:
    value = request.POST.get(name, "")
    if not value:
        if required:
            raise BadRequest(name)
        return ""
    if not pattern.match(value):
        raise BadRequest(name)
    return value


def _text(request: HttpRequest, name: str, limit: int) -> str:
    value = request.POST.get(name, "")
    if len(value) > limit or "\x00" in value:
        raise BadRequest(name)
    return value


def _phone(request: HttpRequest, name: str) -> str:
    value = _field(request, name, _PHONE)
    if len(normalise.phone(value)) < 6:
        raise BadRequest(name)
    return value


def _date(value: str) -> dt.datetime | None:
    """Africa's Talking sends `YYYY-MM-DD HH:MM:SS` (UTC); ISO 8601 is accepted too. Unparseable -> None."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def provider_endpoint(kind: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a webhook: POST only, CSRF-exempt, not cached, size-limited, channel looked up, channel
    rate-limited, malformed input refused with 400."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @never_cache
        @require_POST
        def wrapped(request: HttpRequest, channel_id: Any) -> HttpResponse:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return _plain("", 400)
            if length > MAX_BODY_BYTES:
                return _plain("", 413)
            channel = _channel(channel_id, kind)
            if channel is None or not _authentic(request, channel):
                # A bare 404: not the site's page, which would echo the address.
                return _plain("", 404)
            # Each bucket is checked in its own short transaction: holding a channel-wide row lock for
            # the whole request would serialise every request of the channel (on PostgreSQL).
            if not ratelimit.check_and_consume(
                f"{kind}:channel", str(channel.pk), rate=conf.channel_rate_per_minute(), per_seconds=60
            ):
                return _plain("", 429)
            try:
                return view(request, channel)
            except BadRequest as exc:
                logger.info("intake.webhook_bad_request channel=%s field=%s", channel.pk, exc)
                return _plain("", 400)

        return wrapped

    return decorate


def _authentic(request: HttpRequest, channel: Channel) -> bool:
    """The request carries the channel's webhook secret and comes from an allowed address."""
    token = request.GET.get(TOKEN_PARAMETER, "")
    if not channel.webhook_secret or not constant_time_compare(token, channel.webhook_secret):
        logger.info("intake.webhook_refused channel=%s reason=token", channel.pk)
        return False
    if channel.webhook_allow and not forwarded.address_in(client_address(request), channel.webhook_allow):
        logger.info("intake.webhook_refused channel=%s reason=address", channel.pk)
        return False
    return True


def webhook_query(channel: Channel) -> str:
    """The query string a provider must add to the channel's callback URLs."""
    return "?" + urlencode({TOKEN_PARAMETER: channel.webhook_secret})


def _phone_allowed(kind: str, channel: Channel, phone: str) -> bool:
    return ratelimit.check_and_consume(
        f"{kind}:phone",
        f"{channel.pk}:{normalise.phone(phone)}",
        rate=conf.phone_rate_per_minute(),
        per_seconds=60,
    )


@provider_endpoint(ChannelKind.SMS)
def sms_inbound(request: HttpRequest, channel: Channel) -> HttpResponse:
    incoming = sms.Incoming(
        provider_message_id=_field(request, "id", _TOKEN),
        phone=_phone(request, "from"),
        text=_text(request, "text", MAX_SMS_CHARS),
        sent_at=_date(request.POST.get("date", "")),
        link_id=_field(request, "linkId", _TOKEN, required=False),
    )
    _field(request, "to", _SHORT, required=False)
    if not _phone_allowed("sms", channel, incoming.phone):
        return _plain("", 429)
    stored = sms.accept(channel, incoming)
    logger.info("intake.sms_inbound channel=%s duplicate=%s", channel.pk, not stored)
    return _plain("")


@provider_endpoint(ChannelKind.SMS)
def sms_delivery(request: HttpRequest, channel: Channel) -> HttpResponse:
    message_id = _field(request, "id", _TOKEN)
    status = _field(request, "status", re.compile(r"^[A-Za-z]{1,20}$"))
    reason = _field(request, "failureReason", re.compile(r"^[A-Za-z0-9_ .\-]{0,100}$"), required=False)
    sms.delivery_report(channel, message_id, status, reason)  # unknown ids are acknowledged and ignored
    return _plain("")


@provider_endpoint(ChannelKind.USSD)
def ussd_callback(request: HttpRequest, channel: Channel) -> HttpResponse:
    req = ussd.Request(
        session_id=_field(request, "sessionId", _TOKEN),
        service_code=_field(request, "serviceCode", _SHORT, required=False),
        phone=_phone(request, "phoneNumber"),
        network_code=_field(request, "networkCode", _SHORT, required=False),
        text=_text(request, "text", MAX_USSD_TEXT_CHARS),
    )
    if not _phone_allowed("ussd", channel, req.phone):
        return _plain(ussd.end(_("Too many requests from this number. Please try again later.")))
    started = time.perf_counter()
    screen = ussd.respond(channel, req)
    elapsed = time.perf_counter() - started
    if elapsed > 1.5:
        logger.warning("intake.ussd_slow channel=%s seconds=%.2f", channel.pk, elapsed)
    return _plain(screen)
