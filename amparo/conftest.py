"""Shared fixtures of every app's tests: one set of users per agency and role (healthchecks'
alice/bob/charlie, for Amparo), the browser, the live database. They build core objects only, so the
tests of every layer may use them; cases' builders (`make_case`, `given_consent`) are in
`amparo/cases/tests/fixtures.py`, which the tests of the apps above cases import (the layer contracts
in pyproject.toml hold for tests too)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from amparo.core import audit
from amparo.core.actions import create_user
from amparo.core.models import Agency, District, Province, User

SYSTEM = audit.Actor.system("tests")

# The append-only trigger also refuses TRUNCATE, which is how Django empties the database after a
# transactional test (live-server and browser tests). The test database alone gets that one trigger
# disabled; the UPDATE/DELETE triggers stay, and the trigger test switches TRUNCATE's back on inside
# its own transaction.
TRUNCATE_TRIGGER = "amparo_audit_no_truncate"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # noqa: ANN001, ANN201
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE core_auditentry DISABLE TRIGGER {TRUNCATE_TRIGGER}")


_counter = itertools.count()


@pytest.fixture(autouse=True)
def _isolate_process_state():  # noqa: ANN202
    """Process-wide state must not outlive a test: key caches (the test's database rows are rolled
    back, and on SQLite their ids are reused by the next test), the active language (a request
    in one test would otherwise leave English active for the next), and audit checkpoints."""
    from django.conf import settings
    from django.utils import translation

    from amparo.core import crypto

    crypto.clear_cache()
    translation.activate(settings.LANGUAGE_CODE)
    yield
    crypto.clear_cache()
    translation.activate(settings.LANGUAGE_CODE)
    settings.AUDIT_CHECKPOINT_FILE.unlink(missing_ok=True)  # it describes this test's chain only


@pytest.fixture
def make_user(db) -> Callable[..., User]:  # noqa: ANN001
    """make_user("investigator", agency="sernic", scope_level="province", scope_province="MZ07")."""

    def make(
        *roles: str,
        agency: str | Agency = "sernic",
        username: str | None = None,
        password: str = "correct horse battery staple",  # noqa: S107  (test users only)
        scope_level: str = "",
        scope_province: str | None = None,
        scope_district: str | None = None,
    ) -> User:
        if isinstance(agency, str):
            agency = Agency.objects.get(code=agency)
        return create_user(
            SYSTEM,
            username=username or f"{'-'.join(roles) or 'norole'}-{agency.code}-{next(_counter)}",
            agency=agency,
            roles=roles,
            password=password,
            scope_level=scope_level,
            scope_province=Province.objects.get(pk=scope_province) if scope_province else None,
            scope_district=District.objects.get(pk=scope_district) if scope_district else None,
        )

    return make


# Browser tests: Playwright driving Debian's chromium (installed by `make test` where possible).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    """A headless chromium. Browser tests are part of the suite: a missing chromium is a failure."""
    import os
    import shutil

    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or CHROMIUM
    if not os.path.exists(path):
        pytest.fail(
            "chromium is not installed: run `make test` (it installs Debian's chromium) or `apt-get install chromium`."
        )
    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
    # thread with a running loop unless told that this is deliberate (tests only).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live_db(transactional_db):  # noqa: ANN001, ANN201
    """For tests that need a live server (browser tests): a transactional database, with the
    reference data of the data migrations (provinces, districts, national agencies) put back
    after the flush that ends every transactional test."""
    import importlib

    from django.apps import apps

    if not Province.objects.exists():
        importlib.import_module("amparo.core.migrations.0002_geography").load(apps, None)
    if not Agency.objects.exists():
        importlib.import_module("amparo.core.migrations.0003_national_agencies").seed(apps, None)


@pytest.fixture
def keep_db_connection():  # noqa: ANN201
    """Requests sent straight to the WSGI application (the schemathesis runs) must not close the test's
    database connection when they finish: Django's test client prevents it the same way. (On PostgreSQL
    the connection is inside the test's transaction, which closing would lose.)"""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def screenshots(request):  # noqa: ANN001, ANN201
    """Where a browser test writes the screenshots a person looks at: `test-output/screenshots/<test
    module>/` in the project (or under AMPARO_TEST_OUTPUT). Kept after the run; git ignores them."""
    import os
    from pathlib import Path

    base = Path(
        os.environ.get("AMPARO_TEST_OUTPUT") or Path(__file__).resolve().parent.parent / "test-output"
    )
    folder = base / "screenshots" / request.module.__name__.rsplit(".", 1)[-1]
    folder.mkdir(parents=True, exist_ok=True)
    return folder
