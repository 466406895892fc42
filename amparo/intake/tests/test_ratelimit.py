"""The database token bucket shared by the public endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from amparo.intake import ratelimit
from amparo.intake.models import RateBucket

pytestmark = pytest.mark.django_db


def test_bucket_allows_rate_then_refuses() -> None:
    results = [ratelimit.check_and_consume("t:a", "+258841234567", rate=3, per_seconds=60) for _ in range(5)]
    assert results == [True, True, True, False, False]


def test_buckets_are_separate_per_key_and_scope() -> None:
    for _ in range(2):
        assert ratelimit.check_and_consume("t:a", "one", rate=2, per_seconds=60)
    assert not ratelimit.check_and_consume("t:a", "one", rate=2, per_seconds=60)
    assert ratelimit.check_and_consume("t:a", "two", rate=2, per_seconds=60)
    assert ratelimit.check_and_consume("t:b", "one", rate=2, per_seconds=60)


def test_bucket_refills_with_time() -> None:
    for _ in range(2):
        ratelimit.check_and_consume("t:r", "k", rate=2, per_seconds=60)
    assert not ratelimit.check_and_consume("t:r", "k", rate=2, per_seconds=60)
    RateBucket.objects.update(updated_at=timezone.now() - dt.timedelta(seconds=31))
    assert ratelimit.check_and_consume("t:r", "k", rate=2, per_seconds=60)
    assert not ratelimit.check_and_consume("t:r", "k", rate=2, per_seconds=60)


def test_the_key_itself_is_never_stored() -> None:
    ratelimit.check_and_consume("t:p", "+258841234567", rate=2, per_seconds=60)
    row = RateBucket.objects.get()
    assert "841234567" not in row.key_hash
    assert row.key_hash == ratelimit.key_hash("t:p", "+258841234567")
    assert len(row.key_hash) == 64


def test_idle_buckets_are_purged() -> None:
    ratelimit.check_and_consume("t:x", "k", rate=2, per_seconds=60)
    RateBucket.objects.update(updated_at=timezone.now() - dt.timedelta(days=2))
    assert ratelimit.purge_idle() == 1
    assert not RateBucket.objects.exists()


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        ratelimit.check_and_consume("t:x", "k", rate=0, per_seconds=60)
