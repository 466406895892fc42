"""System checks with stable ids for dangerous configuration."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_deployment(app_configs, **kwargs):  # noqa: ANN001, ANN201, ARG001
    problems = []
    if settings.DEMO:
        problems.append(
            Warning(
                "AMPARO_DEMO is on: demo users may sign in without a second factor.",
                hint="Unset AMPARO_DEMO in production.",
                id="amparo.W001",
            )
        )
    if settings.DEBUG:
        problems.append(
            Error(
                "AMPARO_DEBUG is on: error pages could show case data.",
                hint="Unset AMPARO_DEBUG.",
                id="amparo.E001",
            )
        )
    if not settings.HTTPS:
        problems.append(
            Warning(
                "AMPARO_HTTPS is off: cookies travel without the Secure flag.",
                hint="Serve over HTTPS and unset AMPARO_HTTPS.",
                id="amparo.W002",
            )
        )
    return problems
