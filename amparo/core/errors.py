"""Error pages that cannot fail.

Django's default `bad_request` and `server_error` views carry `requires_csrf_token`, which runs the CSRF
check again; when the request body is what was wrong (an urlencoded POST declaring `charset=utf-7`, which
Django refuses with `BadRequest`), that check reads the body again, raises again, and the 400 became a 500.
These handlers read nothing from the request: they render a self-contained template without a request
context, and fall back to a fixed body if even that fails.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

_FALLBACK = {
    400: b"<!doctype html><title>Bad request (400)</title><h1>Bad request (400)</h1>",
    500: b"<!doctype html><title>Server error (500)</title><h1>Server error (500)</h1>",
}


def _page(template: str, status: int) -> HttpResponse:
    try:
        body: str | bytes = render_to_string(template)
    except Exception:  # noqa: BLE001  (an error page must answer whatever broke)
        logger.exception("core.error_page_failed status=%s", status)
        body = _FALLBACK[status]
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page("400.html", 400)


def server_error(request: HttpRequest) -> HttpResponse:
    return _page("500.html", 500)
