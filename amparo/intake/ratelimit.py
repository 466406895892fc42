"""Token buckets in the database, keyed on a keyed hash of what is limited (a phone number, a client
address, a channel), so that a limit never stores the identifier itself.

    from amparo.intake.ratelimit import check_and_consume

    if not check_and_consume("sms:phone", phone, rate=30, per_seconds=60):
        return HttpResponse(status=429)

A bucket holds up to `rate` tokens and refills at `rate / per_seconds` per second; each call takes one.
Buckets are rows of `intake.RateBucket`, so every process and worker shares them. The row is locked
while it is read and written (on PostgreSQL with SELECT ... FOR UPDATE; SQLite serialises writers), so
concurrent requests cannot both take the last token. Check before acting, as healthchecks' TokenBucket does.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from amparo.intake.models import RateBucket

_SALT = "amparo.intake.ratelimit"


def key_hash(scope: str, key: str) -> str:
    """The keyed hash stored for `key` (HMAC-SHA256 under a key derived from SECRET_KEY)."""
    return salted_hmac(_SALT, f"{scope}\x00{key}", algorithm="sha256").hexdigest()


def check_and_consume(scope: str, key: str, *, rate: int, per_seconds: int) -> bool:
    """Take one token from the bucket `(scope, key)`; False when it is empty (the caller refuses)."""
    if rate < 1 or per_seconds < 1:
        raise ValueError("rate and per_seconds must be positive")
    if len(scope) > 40:
        raise ValueError("scope names are at most 40 characters")
    digest = key_hash(scope, key)
    now = timezone.now()
    with transaction.atomic():
        bucket = RateBucket.objects.select_for_update().filter(scope=scope, key_hash=digest).first()
        if bucket is None:
            try:
                with transaction.atomic():
                    RateBucket.objects.create(scope=scope, key_hash=digest, tokens=rate - 1, updated_at=now)
                return True
            except IntegrityError:  # created by a concurrent request: fall through to the locked path
                bucket = RateBucket.objects.select_for_update().get(scope=scope, key_hash=digest)
        elapsed = max((now - bucket.updated_at).total_seconds(), 0.0)
        tokens = min(float(rate), bucket.tokens + elapsed * rate / per_seconds)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        RateBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated_at=now)
        return allowed


def purge_idle(older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete buckets untouched for `older_than` (a full bucket and a missing one behave the same)."""
    deleted, _ = RateBucket.objects.filter(updated_at__lt=timezone.now() - older_than).delete()
    return deleted
