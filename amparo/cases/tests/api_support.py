"""Helpers for the staff API tests: tokens, calls with a bearer header, and referrals made by the system."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from amparo.cases import actions
from amparo.cases.models import Case, Referral
from amparo.cases.tests.fixtures import given_consent
from amparo.core import audit
from amparo.core.actions import create_api_token
from amparo.core.models import Agency

SYSTEM = audit.Actor.system("tests")


def token_for(user: Any) -> str:
    _row, plaintext = create_api_token(SYSTEM, user, name="tests")
    return plaintext


class Api:
    """A test client that speaks to /api/v1/ with one token (English answers unless told otherwise)."""

    def __init__(self, token: str, client: Client | None = None, language: str = "en") -> None:
        self.client = client or Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": language}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, **self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", **self.headers
        )


def api_for(user: Any, **kwargs: Any) -> Api:
    return Api(token_for(user), **kwargs)


def refer(
    case: Case, to_agency: str, shared: tuple[str, ...] = (), *, accept: bool | None = None
) -> Referral:
    """Refer `case` (as the system) sharing `shared`; then accept or decline it when told to."""
    referral = actions.refer_case(
        SYSTEM,
        case,
        Agency.objects.get(code=to_agency),
        reason="Needs investigation",
        consent=given_consent(case),
        shared_fields=shared,
    )
    if accept is not None:
        actions.decide_referral(SYSTEM, referral, accept=accept, reason="" if accept else "Not ours")
    return referral


CONSENT = {
    "purpose": "Referral for investigation",
    "child_consent": "given",
    "caregiver_consent": "given",
}
