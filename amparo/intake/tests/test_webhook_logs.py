"""Access logs of provider webhooks write the route name, never the path (the channel's id) or the
query string (its webhook secret): gunicorn's access log as `amparo serve` configures it, and Django's
own request log lines."""

from __future__ import annotations

import datetime as dt
import logging
import types

import pytest
from django.test import Client
from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from amparo.core import audit
from amparo.core.management.commands.serve import ACCESS_LOG_FORMAT
from amparo.core.middleware import RequestIdLogFilter
from amparo.intake.providers import create_channel
from amparo.intake.webhooks import webhook_query

pytestmark = pytest.mark.django_db

FORM = {"sessionId": "ATUid_1", "serviceCode": "*458#", "phoneNumber": "+258841234567", "text": ""}


def _gunicorn_line(response) -> str:  # noqa: ANN001
    """The access-log line gunicorn would write for this response with `amparo serve`'s format."""
    environ = response.wsgi_request.META
    environ.setdefault("RAW_URI", environ["PATH_INFO"] + "?" + environ.get("QUERY_STRING", ""))
    environ.setdefault("SERVER_PROTOCOL", "HTTP/1.1")
    resp = types.SimpleNamespace(status=f"{response.status_code} X", headers=list(response.items()), sent=0)
    atoms = Logger(Config()).atoms(resp, [], environ, dt.timedelta(milliseconds=12))
    return ACCESS_LOG_FORMAT % SafeAtoms(atoms)


def test_the_access_log_writes_the_route_name_not_the_path_or_the_secret(client: Client) -> None:
    channel = create_channel(audit.Actor.system("tests"), name="USSD", kind="ussd", provider="log")
    response = client.post(f"/channels/{channel.pk}/ussd{webhook_query(channel)}", FORM)
    assert response.status_code == 200
    line = _gunicorn_line(response)
    assert '"POST intake:ussd" 200' in line
    assert str(channel.pk) not in line
    assert channel.webhook_secret not in line


def test_djangos_request_log_lines_name_the_route_not_the_path(caplog: pytest.LogCaptureFixture) -> None:
    client = Client(enforce_csrf_checks=True)
    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        assert client.post("/report/follow-up/", {"receipt": "1234"}).status_code == 403
    record = next(r for r in caplog.records if r.name == "django.security.csrf")
    RequestIdLogFilter().filter(record)
    assert record.getMessage() == "Forbidden (CSRF cookie not set.): intake:follow_up"
