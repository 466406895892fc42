"""System checks with stable ids for dangerous configuration."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from amparo.lib.private_files import loose_permissions


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
    if settings.BEHIND_PROXY and settings.AMPARO_TRUSTED_PROXIES == 0:
        problems.append(
            Warning(
                "AMPARO_BEHIND_PROXY is on but AMPARO_TRUSTED_PROXIES is 0: every client seems to come from "
                "the proxy, so they share one web-report limit and one sign-in lock-out.",
                hint="Set AMPARO_TRUSTED_PROXIES to the number of reverse proxies in front of Amparo (usually 1).",
                id="amparo.W003",
            )
        )
    problems.extend(_private_paths())
    return problems


def _private_paths() -> list[Warning]:
    """The data directory and the SQLite file should be readable by the service's user only (new ones
    are created so; these were made earlier or by hand)."""
    paths = [Path(settings.DATA_DIR)]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and str(database["NAME"]).startswith("/"):
        paths.append(Path(database["NAME"]))
    return [
        Warning(
            f"{path} can be read or entered by other users of this machine.",
            hint=f"chmod {'700' if path.is_dir() else '600'} {path}",
            id="amparo.W004",
        )
        for path in paths
        if loose_permissions(path)
    ]
