"""Error pages that cannot fail, and the truth while the database is down.

Django's default `bad_request` and `server_error` views carry `requires_csrf_token`, which runs the CSRF
check again; when the request body is what was wrong (an urlencoded POST declaring `charset=utf-7`, which
Django refuses with `BadRequest`), that check reads the body again, raises again, and the 400 became a 500.
These handlers read nothing from the request: they render a self-contained template without a request
context, and fall back to a fixed body if even that fails.

`server_error` answers 503 with `Retry-After` when the error is the database's: Django calls `handler500`
inside the `except` block that caught the error, so it is at hand in `sys.exc_info()` whether it came from
a view, a middleware (the session saved on the way out) or the staff API. A database that does not answer
is not a bug in Amparo: providers (Africa's Talking retries on 5xx), proxies and monitors are told the
truth, "unavailable, come back shortly". Machine clients (webhooks, APIs, district nodes: chosen by the
path, which is read but never written anywhere) get JSON, people a page.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from amparo.core.emergency import emergency_numbers

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
MACHINE_PREFIXES = ("/api/", "/channels/", "/sync/")

_FALLBACK = {
    400: b"<!doctype html><title>Bad request (400)</title><h1>Bad request (400)</h1>",
    500: b"<!doctype html><title>Server error (500)</title><h1>Server error (500)</h1>",
    503: b"<!doctype html><title>Unavailable (503)</title><h1>Unavailable (503)</h1>",
}


def _page(template: str, status: int, context: dict[str, Any] | None = None) -> HttpResponse:
    try:
        body: str | bytes = render_to_string(template, context)
    except Exception:  # noqa: BLE001  (an error page must answer whatever broke)
        logger.exception("core.error_page_failed status=%s", status)
        body = _FALLBACK[status]
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def database_unavailable(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page("400.html", 400)


def server_error(request: HttpRequest) -> HttpResponse:
    if not database_unavailable(sys.exc_info()[1]):
        return _page("500.html", 500)
    if request.path.startswith(MACHINE_PREFIXES):
        message = _("The service is briefly unavailable. Try again in %(seconds)d seconds.") % {
            "seconds": RETRY_AFTER_SECONDS
        }
        response: HttpResponse = JsonResponse({"detail": message}, status=503)
    else:
        context = {"seconds": RETRY_AFTER_SECONDS, **emergency_numbers()}  # no context processors here
        response = _page("503.html", 503, context)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
