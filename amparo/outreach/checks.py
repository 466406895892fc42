"""System check (stable id) for the campaign settings, so that a malformed value fails at start-up
rather than at the first `send_due`."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from amparo.lib.env import ConfigError
from amparo.outreach import conf


@register()
def check_outreach_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:  # noqa: ARG001
    errors: list[CheckMessage] = []
    for read in (conf.send_hours, conf.rate_per_second, conf.batch_size):
        try:
            read()
        except ConfigError as exc:
            errors.append(Error(str(exc), hint="See docs/configuration.md (outreach).", id="outreach.E001"))
    return errors
