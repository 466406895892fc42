"""Request ids for logs and audit entries, the two-factor gate for staff pages and the absolute
lifetime of a signed-in session."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("amparo_request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def current_request_id() -> str | None:
    return _request_id.get()


# The WSGI environ key where the route name is left for the access log (gunicorn: `%({amparo.route}e)s`).
ROUTE_ENVIRON_KEY = "amparo.route"


def route_name(request: HttpRequest) -> str:
    """The name of the route a request matched ("intake:ussd"), or "-": what logs write instead of the
    path, which may hold a secret (a channel's id) or a reference."""
    match = getattr(request, "resolver_match", None)
    return (match.view_name or "-") if match is not None else "-"


class RequestIdMiddleware:
    """Gives every request an id (a sane incoming X-Request-ID is kept) for logs and audit entries, and
    leaves the route name in the WSGI environ for the access log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(rid)
        request.request_id = rid  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = rid
        request.META[ROUTE_ENVIRON_KEY] = route_name(request)
        return response


class RequestIdLogFilter(logging.Filter):
    """Adds the request id to every record, and replaces the path in Django's request log lines
    ("Not Found: /channels/<id>/ussd", "Forbidden (CSRF cookie not set.): /report/") by the route name."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        request = getattr(record, "request", None)
        if isinstance(request, HttpRequest) and isinstance(record.args, tuple):
            path, full = request.path, request.get_full_path()
            record.args = tuple(
                route_name(request) if arg in (path, full, request.path_info) else arg for arg in record.args
            )
        return True


# Paths a signed-in user may reach before completing two-factor sign-in.
_OPEN_PREFIXES = ("/accounts/", "/healthz", "/static/", "/i18n/")


def user_needs_second_factor(user) -> bool:  # noqa: ANN001
    if not user.is_authenticated:
        return False
    if settings.DEMO and getattr(user, "is_demo", False):
        return False
    return not user.is_verified()


class RequireTwoFactorMiddleware:
    """Every staff page needs a verified second factor (TOTP); demo users skip it in demo mode only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if user_needs_second_factor(request.user) and not request.path.startswith(_OPEN_PREFIXES):
            return redirect("core:two_factor")
        return self.get_response(request)


# When the session's user signed in (seconds since the epoch), set at sign-in (`mark_signed_in`).
SIGNED_IN_AT = "amparo_signed_in_at"


def mark_signed_in(session) -> None:  # noqa: ANN001
    session[SIGNED_IN_AT] = int(time.time())


class SessionLifetimeMiddleware:
    """A signed-in session ends `AMPARO_SESSION_MAX_HOURS` after sign-in however active it is (the idle
    limit, `SESSION_COOKIE_AGE`, ends it sooner when unused): a stolen cookie is not good forever. A
    session without a sign-in time (signed in before this existed) starts its clock now."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            now = int(time.time())
            if not isinstance(started, int):
                request.session[SIGNED_IN_AT] = now
            elif now - started >= settings.AMPARO_SESSION_MAX_HOURS * 3600:
                # Imported here: this module is loaded by LOGGING before the apps are ready.
                from django.contrib.auth import logout
                from django.contrib.auth.views import redirect_to_login

                logout(request)
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)
