"""Sign-in throttling beyond django-axes.

django-axes locks an *address* out after `AMPARO_LOGIN_FAILURE_LIMIT` failures across every user name
(settings: `AXES_LOCKOUT_PARAMETERS = ["ip_address"]`, the address taken behind the trusted proxies).
A *user name* is never locked: that would let anyone lock any staff member out. Instead, failures for a
user name are counted from every address (axes keeps them, one row per name, address and browser), and
once they reach the limit each further attempt must wait a delay that doubles with every failure
(`BACKOFF_BASE_SECONDS`, at most `BACKOFF_MAX_SECONDS`). While the delay runs the password is not even
checked. A browser in which that user signed in before (a signed "known device" cookie, OWASP's device
cookies) is exempt from the per-name delay, so an attacker who keeps failing as someone cannot keep them
out of their own browser; it is still subject to the per-address lock.
"""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 15 * 60
DEVICE_COOKIE = "amparo_device"
DEVICE_SALT = "amparo.core.signin.device"
DEVICE_MAX_AGE = 90 * 24 * 3600


def username_wait_seconds(username: str, now: dt.datetime | None = None) -> int:
    """Seconds before `username` may be tried again (0: now)."""
    if not username:
        return 0
    found = AccessAttempt.objects.filter(username=username).aggregate(
        failures=Sum("failures_since_start"), last=Max("attempt_time")
    )
    failures, last = found["failures"] or 0, found["last"]
    if failures < settings.AXES_FAILURE_LIMIT or last is None:
        return 0
    delay = min(BACKOFF_BASE_SECONDS * 2 ** (failures - settings.AXES_FAILURE_LIMIT), BACKOFF_MAX_SECONDS)
    remaining = (last + dt.timedelta(seconds=delay) - (now or timezone.now())).total_seconds()
    return max(0, int(remaining + 0.999))


def forget_failures(username: str) -> None:
    """A successful sign-in clears the failures counted against that user name (and only those: the
    per-address count stays, so a valid account cannot be used to reset an address's count)."""
    AccessAttempt.objects.filter(username=username).delete()


def _name_mac(username: str) -> str:
    return salted_hmac(DEVICE_SALT + ".name", username, algorithm="sha256").hexdigest()


def known_device(request: HttpRequest, username: str) -> bool:
    value = request.get_signed_cookie(DEVICE_COOKIE, default=None, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    return bool(value) and constant_time_compare(value, _name_mac(username))


def remember_device(response: HttpResponse, username: str) -> None:
    """Mark this browser as one where `username` signed in (the cookie names the user only by a MAC)."""
    response.set_signed_cookie(
        DEVICE_COOKIE,
        _name_mac(username),
        salt=DEVICE_SALT,
        max_age=DEVICE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
