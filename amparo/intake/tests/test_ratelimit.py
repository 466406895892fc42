"""The database token bucket shared by the public endpoints."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
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


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_bucket_commits_each_token_and_refuses_after_the_last() -> None:
    results = [
        ratelimit.check_and_consume("t:c", "+258841234567", rate=2, per_seconds=3600) for _ in range(3)
    ]
    assert results == [True, True, False]
    assert RateBucket.objects.get(scope="t:c").tokens < 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_take_more_tokens_than_the_bucket_holds() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs concurrent connections (PostgreSQL)")
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def take() -> None:
        barrier.wait()
        try:
            for _ in range(3):
                results.append(ratelimit.check_and_consume("t:race", "k", rate=5, per_seconds=3600))
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 5
    assert len(results) == 24
