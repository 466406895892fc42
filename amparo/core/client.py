"""Who is at the other end of a request: the client's address behind `AMPARO_TRUSTED_PROXIES` reverse
proxies. Every per-client limit (public report, follow-up, webhook allow-lists) and the sign-in lock-out
(django-axes, through `AXES_CLIENT_IP_CALLABLE`) asks here, never `REMOTE_ADDR` directly."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from amparo.lib import forwarded


def client_address(request: HttpRequest) -> str:
    return forwarded.client_address(
        request.META.get("REMOTE_ADDR", "") or "",
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.AMPARO_TRUSTED_PROXIES,
    )
