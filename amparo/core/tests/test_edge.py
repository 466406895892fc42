"""Security at the edge (issue 16): answers to malformed requests, session lifetime, file permissions."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from amparo.core.middleware import SIGNED_IN_AT
from amparo.core.tests.test_web import sign_in

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    page = client.get("/report/", **EN).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    return client, token.group(1)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/report/", "/accounts/login/", "/report/follow-up/", "/i18n/setlang/"])
def test_urlencoded_post_in_utf7_answers_400_not_500(url: str) -> None:
    client, token = _csrf_client()
    response = client.post(
        url,
        data=f"csrfmiddlewaretoken={token}&a=+AGEA-".encode(),
        content_type="application/x-www-form-urlencoded; charset=utf-7",
        **EN,
    )
    assert response.status_code == 400
    assert b"Bad request" in response.content
    assert b"+AGEA-" not in response.content


# ---------------------------------------------------------------------------
# Item 12: absolute session lifetime


def _age_session(client: Client, seconds: int) -> None:
    session = client.session
    session[SIGNED_IN_AT] = session[SIGNED_IN_AT] - seconds
    session.save()


def test_session_ends_twelve_hours_after_sign_in_however_active(make_user, settings) -> None:  # noqa: ANN001
    assert settings.AMPARO_SESSION_MAX_HOURS == 12
    client = Client()
    sign_in(client, make_user("investigator"))
    _age_session(client, 12 * 3600 - 60)
    assert client.get("/", **EN).status_code == 200  # still within the limit, and active
    _age_session(client, 61)
    response = client.get("/", **EN)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/", **EN).status_code == 302  # the session is gone, not only this request


def test_session_lifetime_counts_from_sign_in_not_from_the_last_request(make_user, settings) -> None:  # noqa: ANN001
    settings.AMPARO_SESSION_MAX_HOURS = 1
    client = Client()
    sign_in(client, make_user("investigator"))
    started = client.session[SIGNED_IN_AT]
    assert client.get("/", **EN).status_code == 200
    assert client.session[SIGNED_IN_AT] == started  # a request does not move the clock
    _age_session(client, 3600)
    assert client.get("/", **EN).status_code == 302
