"""Helpers for the industry API tests: organisations with keys, calls with the key, and the requests and
notices that staff send to an organisation. Everything is synthetic."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.test import Client
from django.utils import timezone

from amparo.cases.actions import justice
from amparo.cases.models import ServiceProvider
from amparo.core import audit
from amparo.intake.industry import actions
from amparo.intake.models import IndustryOrganisation, IndustryScope

SYSTEM = audit.Actor.system("tests")
ALL_SCOPES = tuple(IndustryScope.values)
PREFIX = "/api/industry/v1"


def organisation(code: str, *, provider: bool = True) -> IndustryOrganisation:
    service_provider = (
        ServiceProvider.objects.create(code=f"sp-{code}", name=f"Provider {code}", kind="platform")
        if provider
        else None
    )
    return actions.create_organisation(
        SYSTEM, code=code, name=f"Example {code} Ltd", kind="platform", service_provider=service_provider
    )


def key_for(org: IndustryOrganisation, scopes: tuple[str, ...] = ALL_SCOPES, days: int | None = 30) -> str:
    _row, key = actions.create_api_key(SYSTEM, org, scopes=scopes, days=days)
    return key


class Industry:
    """A test client for /api/industry/v1/ with one key (English answers)."""

    def __init__(self, key: str | None, client: Client | None = None) -> None:
        self.client = client or Client()
        self.headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
        if key is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{PREFIX}{path}", params, **self.headers)

    def post(self, path: str, body: Any) -> Any:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        return self.client.post(f"{PREFIX}{path}", data, content_type="application/json", **self.headers)

    def upload(self, path: str, name: str, data: bytes) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return self.client.post(f"{PREFIX}{path}", {"file": SimpleUploadedFile(name, data)}, **self.headers)


def report(submission_id: str = "sub-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "submission_id": submission_id,
        "incident_type": "child_sexual_abuse_material",
        "annotations": ["sextortion"],
        "incident_at": "2026-10-01T10:00:00Z",
        "urls": ["https://example.test/p/1"],
        "reported_users": [
            {
                "screen_name": "fake_offender_9",
                "phone": "+258840000009",
                "ip_events": [{"ip": "198.51.100.7", "event": "login", "at": "2026-10-01T09:00:00Z"}],
            }
        ],
        "victim_age": 13,
        "estimated_location": {"country": "MZ", "region": "Nampula", "city": "Nampula"},
        "description": "Fictitious report for tests.",
    }
    body.update(extra)
    return body


def sent_preservation_request(case: Any, org: IndustryOrganisation) -> Any:
    request = justice.create_preservation_request(
        SYSTEM,
        case,
        provider=org.service_provider,
        kind="preservation",
        identifiers=["fake_offender_9", "+258840000009"],
        date_from=dt.date(2026, 9, 1),
        date_to=dt.date(2026, 10, 1),
        legal_basis="Synthetic legal basis for tests.",
    )
    return justice.send_preservation_request(SYSTEM, request)


def back_date(notice: Any, hours: float) -> None:
    """Pretend the notice was sent `hours` ago (test set-up only)."""
    type(notice).objects.filter(pk=notice.pk).update(requested_at=timezone.now() - dt.timedelta(hours=hours))
