"""Staff API tokens: shown once, stored as SHA-256, expiring, revocable, audited; and `amparo api_token`."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone, translation

from amparo.core import audit, ratelimit, tokens
from amparo.core.actions import create_api_token, revoke_api_token, update_user
from amparo.core.audit import CoreAudit
from amparo.core.models import ApiToken, AuditEntry

SYSTEM = audit.Actor.system("tests")


@pytest.fixture
def investigator(make_user):  # noqa: ANN001, ANN201
    return make_user("investigator", agency="sernic", username="svc-primero")


def test_token_is_stored_as_its_sha256_and_never_in_clear(investigator):
    token, plaintext = create_api_token(SYSTEM, investigator, name="Primero sync")
    assert plaintext.startswith("amp_")
    assert len(plaintext) == 47
    assert token.prefix == plaintext[:12]
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM core_apitoken")
        rows = cursor.fetchall()
        cursor.execute("SELECT * FROM core_auditentry")
        rows += cursor.fetchall()
    assert rows
    assert not any(plaintext in str(value) for row in rows for value in row)


def test_valid_token_verifies_as_its_user(investigator):
    _token, plaintext = create_api_token(SYSTEM, investigator)
    found = tokens.verify(plaintext)
    assert found is not None
    assert found.user == investigator
    assert found.last_used_at is not None


@pytest.mark.parametrize(
    "presented",
    ["", "amp_", "amp_short", "not-a-token-at-all-not-a-token-at-all-not-a-to", "amp_" + "é" * 43, None],
)
def test_malformed_tokens_are_refused(investigator, presented):
    create_api_token(SYSTEM, investigator)
    assert tokens.verify(presented) is None


def test_token_with_a_known_prefix_but_wrong_secret_is_refused(investigator):
    _token, plaintext = create_api_token(SYSTEM, investigator)
    forged = plaintext[:12] + ("A" if plaintext[12] != "A" else "B") + plaintext[13:]
    assert tokens.verify(forged) is None


def test_expired_token_is_refused(investigator):
    token, plaintext = create_api_token(SYSTEM, investigator, days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert tokens.verify(plaintext) is None


def test_revoked_token_is_refused(investigator):
    token, plaintext = create_api_token(SYSTEM, investigator)
    revoke_api_token(SYSTEM, token)
    assert tokens.verify(plaintext) is None
    assert tokens.status(ApiToken.objects.get(pk=token.pk)) == "revoked"


def test_token_of_a_deactivated_user_is_refused(investigator):
    _token, plaintext = create_api_token(SYSTEM, investigator)
    update_user(SYSTEM, investigator, is_active=False)
    assert tokens.verify(plaintext) is None


def test_last_use_is_written_at_most_once_a_minute(investigator):
    token, plaintext = create_api_token(SYSTEM, investigator)
    recent = timezone.now() - dt.timedelta(seconds=20)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    tokens.verify(plaintext)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == recent
    old = timezone.now() - dt.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    tokens.verify(plaintext)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > old


def test_tokens_expire_after_90_days_by_default_and_a_year_at_most(investigator):
    token, _plaintext = create_api_token(SYSTEM, investigator)
    lifetime = token.expires_at - token.created_at
    assert dt.timedelta(days=89, hours=23) < lifetime <= dt.timedelta(days=90, seconds=5)
    create_api_token(SYSTEM, investigator, days=365)
    for days in (0, -1, 366):
        with pytest.raises(ValidationError):
            create_api_token(SYSTEM, investigator, days=days)


def test_creating_and_revoking_a_token_is_audited_with_field_names_only(investigator):
    token, _plaintext = create_api_token(SYSTEM, investigator, name="Primero sync")
    revoke_api_token(SYSTEM, token)
    entries = list(AuditEntry.objects.filter(object_id=str(token.pk)).order_by("id"))
    assert [e.action for e in entries] == [CoreAudit.API_TOKEN_CREATE, CoreAudit.API_TOKEN_REVOKE]
    assert entries[0].fields == ["expires_at", "name", "token_hash", "user"]
    assert entries[0].actor_channel == "tests"
    assert entries[1].fields == ["revoked_at"]


def test_only_system_administrators_create_tokens_for_others(make_user, investigator):
    colleague = make_user("investigator", agency="sernic")
    with pytest.raises(PermissionDenied):
        create_api_token(colleague, investigator)
    admin = make_user("sysadmin", agency="intic")
    token, _plaintext = create_api_token(admin, investigator)
    assert token.created_by == admin


def test_a_user_may_revoke_their_own_token_but_not_a_colleagues(make_user, investigator):
    token, _plaintext = create_api_token(SYSTEM, investigator)
    colleague = make_user("investigator", agency="sernic")
    with pytest.raises(PermissionDenied):
        revoke_api_token(colleague, token)
    revoke_api_token(investigator, token)
    with pytest.raises(ValidationError):
        revoke_api_token(investigator, token)


def test_inactive_user_gets_no_token(investigator):
    inactive = update_user(SYSTEM, investigator, is_active=False)
    with pytest.raises(ValidationError):
        create_api_token(SYSTEM, inactive)


# --- amparo api_token -------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_prints_a_token_that_works_and_is_shown_only_once(investigator):
    printed = run("create", "--user", "svc-primero", "--name", "Primero sync", "--days", "30")
    plaintext = printed.splitlines()[0]
    found = tokens.verify(plaintext)
    assert found is not None
    assert found.user == investigator
    assert "cannot be shown again" in printed
    listed = run("list")
    assert plaintext[:12] in listed
    assert plaintext not in listed


def test_command_json_output_parses_and_lists_without_secrets(investigator):
    created = json.loads(run("create", "--user", "svc-primero", "--json"))
    assert tokens.verify(created["token"]) is not None
    assert created["user"] == "svc-primero"
    assert created["agency"] == "sernic"
    assert created["status"] == "active"
    listed = json.loads(run("list", "--user", "svc-primero", "--json"))
    assert [t["prefix"] for t in listed["tokens"]] == [created["prefix"]]
    assert "token" not in listed["tokens"][0]
    assert "token_hash" not in listed["tokens"][0]
    assert created["token"] not in json.dumps(listed)


def test_command_revokes_by_prefix(investigator):
    created = json.loads(run("create", "--user", "svc-primero", "--json"))
    assert "revoked" in run("revoke", created["prefix"])
    assert tokens.verify(created["token"]) is None
    assert json.loads(run("list", "--json"))["tokens"][0]["status"] == "revoked"
    with translation.override("en"), pytest.raises(CommandError, match="already revoked"):
        run("revoke", created["prefix"])
    with pytest.raises(CommandError, match="api_token list"):
        run("revoke", "amp_nothere0")


def test_command_explains_unknown_users_and_bad_lifetimes(investigator):
    with pytest.raises(CommandError, match="users list"):
        run("create", "--user", "nobody")
    with pytest.raises(CommandError, match="365"):
        run("create", "--user", "svc-primero", "--days", "400")


def test_command_warns_when_the_user_cannot_work_on_cases(make_user):
    make_user("analyst", agency="intic", username="stats-bot")
    err = io.StringIO()
    call_command("api_token", "create", "--user", "stats-bot", stdout=io.StringIO(), stderr=err)
    assert "no case role" in err.getvalue()


# --- rate limits (core) --------------------------------------------------------------------------


def test_local_buckets_refuse_beyond_the_rate_and_refill_with_time():
    now = [1000.0]
    buckets = ratelimit.LocalBuckets(clock=lambda: now[0])
    assert [buckets("s", "k", rate=2, per_seconds=60) for _ in range(3)] == [True, True, False]
    assert buckets("s", "other", rate=2, per_seconds=60)
    now[0] += 30  # one token back after 30 s at 2 per minute
    assert buckets("s", "k", rate=2, per_seconds=60)
    assert not buckets("s", "k", rate=2, per_seconds=60)


def test_consume_gives_the_seconds_to_wait(db):
    assert ratelimit.consume("tests:limit", "k", rate=1, per_seconds=60) == 0
    assert ratelimit.consume("tests:limit", "k", rate=1, per_seconds=60) == 60
