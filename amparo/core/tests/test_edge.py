"""Security at the edge (issue 16): answers to malformed requests, session lifetime, file permissions."""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from amparo.core import signin
from amparo.core.middleware import SIGNED_IN_AT
from amparo.core.tests.test_web import sign_in

PROJECT_DIR = Path(__file__).resolve().parents[3]
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
    assert client.get("/staff/", **EN).status_code == 200  # still within the limit, and active
    _age_session(client, 61)
    response = client.get("/staff/", **EN)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/staff/", **EN).status_code == 302  # the session is gone, not only this request


def test_session_lifetime_counts_from_sign_in_not_from_the_last_request(make_user, settings) -> None:  # noqa: ANN001
    settings.AMPARO_SESSION_MAX_HOURS = 1
    client = Client()
    sign_in(client, make_user("investigator"))
    started = client.session[SIGNED_IN_AT]
    assert client.get("/staff/", **EN).status_code == 200
    assert client.session[SIGNED_IN_AT] == started  # a request does not move the clock
    _age_session(client, 3600)
    assert client.get("/staff/", **EN).status_code == 302


# ---------------------------------------------------------------------------
# Item 15: the data directory and the SQLite file are private whatever the umask


def test_data_directory_and_sqlite_files_are_created_private_under_a_loose_umask(tmp_path: Path) -> None:
    data = tmp_path / "srv" / "amparo" / "data"
    code = (
        "import os; os.umask(0o022)\n"
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "with connection.cursor() as c: c.execute('CREATE TABLE t (x int)'); c.execute('INSERT INTO t VALUES (1)')\n"
        "import pathlib, stat\n"  # while the connection is open, so that the -wal and -shm files exist
        "for f in sorted(pathlib.Path(os.environ['AMPARO_DATA_DIR']).glob('amparo.sqlite3*')):\n"
        "    print(f.name, oct(stat.S_IMODE(f.stat().st_mode)))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AMPARO_DATA_DIR": str(data),
        "AMPARO_SECRET_KEY": "s" * 50,
        "AMPARO_MASTER_KEY": base64.b64encode(bytes(range(32))).decode(),
        "DJANGO_SETTINGS_MODULE": "amparo.settings",
    }
    result = subprocess.run(  # noqa: S603  (our own interpreter, fixed code)
        [sys.executable, "-c", code], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for directory in (tmp_path / "srv", tmp_path / "srv" / "amparo", data):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert result.stdout.split("\n") == [
        "amparo.sqlite3 0o600",
        "amparo.sqlite3-shm 0o600",
        "amparo.sqlite3-wal 0o600",
        "",
    ]


# ---------------------------------------------------------------------------
# Item 4: client addresses behind the proxy, lock-out per address and per user name

PASSWORD = "correct horse battery staple"  # make_user's default
PROXY = {"REMOTE_ADDR": "10.0.0.5"}


def _via_proxy(address: str) -> dict[str, str]:
    return {**PROXY, "HTTP_X_FORWARDED_FOR": address, **EN}


def _try(client: Client, username: str, password: str, **extra: str):  # noqa: ANN202
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


@pytest.mark.django_db
def test_behind_one_trusted_proxy_each_client_has_its_own_lock_out(settings, make_user) -> None:
    settings.AMPARO_TRUSTED_PROXIES = 1
    user = make_user("investigator")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _try(Client(), "someone-else", "wrong password", **_via_proxy("203.0.113.9"))
    assert _try(Client(), user.username, PASSWORD, **_via_proxy("203.0.113.9")).status_code == 429
    assert _try(Client(), user.username, PASSWORD, **_via_proxy("198.51.100.7")).status_code == 302


@pytest.mark.django_db
def test_without_trusted_proxies_a_forwarded_for_header_changes_nothing(settings, make_user) -> None:
    settings.AMPARO_TRUSTED_PROXIES = 0
    user = make_user("investigator")
    for n in range(settings.AXES_FAILURE_LIMIT):  # a new forged address each time
        _try(Client(), "someone-else", "wrong password", **_via_proxy(f"203.0.113.{n + 1}"))
    assert _try(Client(), user.username, PASSWORD, **_via_proxy("198.51.100.7")).status_code == 429


@pytest.mark.django_db
def test_one_address_is_locked_out_across_user_names(settings, make_user) -> None:
    user = make_user("investigator")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _try(Client(), f"guess-{n}", "wrong password", REMOTE_ADDR="203.0.113.9", **EN)
    response = _try(Client(), user.username, PASSWORD, REMOTE_ADDR="203.0.113.9", **EN)
    assert response.status_code == 429
    assert "_auth_user_id" not in Client().session


@pytest.mark.django_db
def test_failures_for_one_user_name_from_many_addresses_slow_it_down_without_locking_it(
    settings, make_user
) -> None:
    user = make_user("investigator")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _try(Client(), user.username, "wrong password", REMOTE_ADDR=f"203.0.113.{n + 1}", **EN)
    response = _try(Client(), user.username, PASSWORD, REMOTE_ADDR="198.51.100.7", **EN)
    assert response.status_code == 429
    assert "Wait 1 minute, then try again." in response.content.decode()
    # The delay passes: the right password works again from anywhere.
    AccessAttempt.objects.filter(username=user.username).update(
        attempt_time=timezone.now() - dt.timedelta(seconds=61)
    )
    client = Client()
    assert _try(client, user.username, PASSWORD, REMOTE_ADDR="198.51.100.7", **EN).status_code == 302
    assert not AccessAttempt.objects.filter(username=user.username).exists()


@pytest.mark.django_db
def test_the_delay_per_user_name_doubles_with_each_failure_up_to_fifteen_minutes(settings, make_user) -> None:
    user = make_user("investigator")
    AccessAttempt.objects.create(
        username=user.username,
        ip_address="203.0.113.1",
        user_agent="x",
        failures_since_start=settings.AXES_FAILURE_LIMIT + 3,
        attempt_time=timezone.now(),
        get_data="",
        post_data="",
        http_accept="",
        path_info="",
    )
    assert 7 * 60 < signin.username_wait_seconds(user.username) <= 8 * 60
    AccessAttempt.objects.filter(username=user.username).update(failures_since_start=100)
    assert 14 * 60 < signin.username_wait_seconds(user.username) <= 15 * 60


@pytest.mark.django_db
def test_a_browser_where_the_user_signed_in_before_is_not_slowed_by_someone_elses_failures(
    settings, make_user
) -> None:
    user = make_user("investigator")
    own = Client()
    assert _try(own, user.username, PASSWORD, REMOTE_ADDR="198.51.100.7", **EN).status_code == 302
    own.post("/accounts/logout/")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _try(Client(), user.username, "wrong password", REMOTE_ADDR=f"203.0.113.{n + 1}", **EN)
    assert _try(Client(), user.username, PASSWORD, REMOTE_ADDR="198.51.100.8", **EN).status_code == 429
    assert _try(own, user.username, PASSWORD, REMOTE_ADDR="198.51.100.7", **EN).status_code == 302
    assert signin.DEVICE_COOKIE in own.cookies
    assert user.username not in own.cookies[signin.DEVICE_COOKIE].value


# ---------------------------------------------------------------------------
# `amparo check --deploy` with production settings


def _check_deploy(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AMPARO_DATA_DIR": str(tmp_path / "data"),
        "AMPARO_SECRET_KEY": "production-" + "k" * 50,
        "AMPARO_MASTER_KEY": base64.b64encode(bytes(range(32))).decode(),
        "AMPARO_ALLOWED_HOSTS": "amparo.gov.mz",
        "DJANGO_SETTINGS_MODULE": "amparo.settings",
        **env,
    }
    return subprocess.run(  # noqa: S603  (our own interpreter, fixed code)
        [sys.executable, "-m", "amparo", "check", "--deploy"],
        env=clean,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {"AMPARO_BEHIND_PROXY": "1", "AMPARO_TRUSTED_PROXIES": "1"}


def test_check_deploy_with_production_settings_reports_nothing(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_warns_when_clients_would_share_the_proxys_address(tmp_path: Path) -> None:
    result = _check_deploy(tmp_path, AMPARO_BEHIND_PROXY="1")
    assert "(amparo.W003)" in result.stdout + result.stderr


def test_check_deploy_warns_about_a_data_directory_others_can_read(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(mode=0o755)
    os.chmod(tmp_path / "data", 0o755)  # noqa: S103  (the loose mode under test)
    result = _check_deploy(tmp_path, **PRODUCTION)
    assert "(amparo.W004)" in result.stdout + result.stderr
    assert f"chmod 700 {tmp_path / 'data'}" in result.stdout + result.stderr
