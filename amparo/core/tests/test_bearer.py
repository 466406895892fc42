"""The one implementation of bearer secrets (amparo.core.bearer) that staff API tokens and industry API
keys (tested with the industry API) are two kinds of: their shape, their stored hash (unchanged: rows written before still verify), and
when a row counts as revoked or expired."""

from __future__ import annotations

import datetime as dt
import hashlib
from types import SimpleNamespace

import pytest
from django.utils import timezone

from amparo.core import bearer, tokens

KIND = bearer.Kind("tst_", 10)


def test_a_new_secret_is_well_formed_and_fresh_each_time() -> None:
    first, second = KIND.new(), KIND.new()
    assert first != second
    assert first.startswith("tst_")
    assert len(first) == len("tst_") + 43
    assert KIND.is_well_formed(first)
    assert KIND.prefix(first) == first[:10]


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "tst_",
        "xxx_" + "a" * 43,
        "tst_" + "a" * 42,
        "tst_" + "a" * 44,
        "tst_" + "a" * 42 + "ç",
        "tst_" + "a" * 42 + "!",
    ],
)
def test_malformed_secrets_are_refused_before_any_lookup(secret: str) -> None:
    assert not KIND.is_well_formed(secret)


def test_the_stored_hash_is_the_plain_sha256_hex_of_the_whole_secret() -> None:
    secret = "amp_" + "A" * 43
    assert bearer.hash_secret(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert tokens.hash_token(secret) == bearer.hash_secret(secret)


def test_status_is_revoked_before_expired_and_no_expiry_never_expires() -> None:
    now = timezone.now()
    past = now - dt.timedelta(seconds=1)
    assert bearer.status(SimpleNamespace(revoked_at=None, expires_at=None), now) == "active"
    assert bearer.status(SimpleNamespace(revoked_at=None, expires_at=now), now) == "expired"
    assert bearer.status(SimpleNamespace(revoked_at=past, expires_at=past), now) == "revoked"
    assert (
        bearer.status(SimpleNamespace(revoked_at=None, expires_at=now + dt.timedelta(days=1)), now)
        == "active"
    )


def test_staff_tokens_are_a_kind_of_bearer_secret() -> None:
    assert (tokens.TOKENS.mark, tokens.TOKENS.prefix_length) == ("amp_", 12)
    assert tokens.is_well_formed(tokens.new_token())
