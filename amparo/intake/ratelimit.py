"""Token buckets in the database, keyed on a keyed hash of what is limited (a phone number, a client
address, a channel), so that a limit never stores the identifier itself.

    from amparo.intake.ratelimit import check_and_consume

    if not check_and_consume("sms:phone", phone, rate=30, per_seconds=60):
        return HttpResponse(status=429)

A bucket holds up to `rate` tokens and refills at `rate / per_seconds` per second; each call takes one.
Buckets are rows of `intake.RateBucket`, so every process and worker shares them. Check before acting, as
healthchecks' TokenBucket does.

One call is one statement in the common case: an UPDATE that refills and takes a token in SQL, and only
when a token is there (`WHERE refilled >= 1`), so that two concurrent requests cannot both take the last
token (the row is locked by the UPDATE itself). No row updated means an empty bucket or no bucket yet;
`INSERT … ON CONFLICT DO NOTHING` tells the two apart without an exception (a refused request leaves the
bucket as it was, which refills the same as writing it back). Outside a transaction, the bucket's commit
does not wait for the disk (SQLite: `PRAGMA synchronous=NORMAL`, still crash-safe in WAL mode;
PostgreSQL: `SET LOCAL synchronous_commit TO OFF`, which may lose the last few hundred milliseconds of
bucket updates in a crash, never corrupt anything): a bucket is not a record, and a request then waits
for one disk flush (its own record's) rather than three.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from amparo.intake.models import RateBucket

_SALT = "amparo.intake.ratelimit"


def key_hash(scope: str, key: str) -> str:
    """The keyed hash stored for `key` (HMAC-SHA256 under a key derived from SECRET_KEY)."""
    return salted_hmac(_SALT, f"{scope}\x00{key}", algorithm="sha256").hexdigest()


def _refilled_sql() -> str:
    """SQL for the bucket's tokens after refilling up to now (parameters: now, rate, rate/per, rate)."""
    if connection.vendor == "postgresql":
        elapsed = "GREATEST(EXTRACT(EPOCH FROM (%s - updated_at))::float8, 0)"
        return f"LEAST(%s, tokens + {elapsed} * %s)"
    elapsed = "MAX((julianday(%s) - julianday(updated_at)) * 86400.0, 0)"
    return f"MIN(%s, tokens + {elapsed} * %s)"


@contextmanager
def _no_flush() -> Iterator[None]:
    """Outside a transaction, commit the bucket's statements without waiting for the disk: on SQLite
    with `PRAGMA synchronous=NORMAL`, on PostgreSQL in one transaction with `synchronous_commit` off
    (for that transaction only). Inside a caller's transaction nothing changes: its commit is its own."""
    if connection.in_atomic_block or connection.vendor not in {"sqlite", "postgresql"}:
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        previous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            cursor.execute(f"PRAGMA synchronous={previous:d}")


def check_and_consume(scope: str, key: str, *, rate: int, per_seconds: int) -> bool:
    """Take one token from the bucket `(scope, key)`; False when it is empty (the caller refuses)."""
    if rate < 1 or per_seconds < 1:
        raise ValueError("rate and per_seconds must be positive")
    if len(scope) > 40:
        raise ValueError("scope names are at most 40 characters")
    digest = key_hash(scope, key)
    now = timezone.now()
    db_now = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    table = connection.ops.quote_name(RateBucket._meta.db_table)
    refilled = _refilled_sql()
    refill_params = [float(rate), db_now, rate / per_seconds]
    update = (
        f"UPDATE {table} SET tokens = {refilled} - 1, updated_at = %s "  # noqa: S608  (no user input in the SQL)
        f"WHERE scope = %s AND key_hash = %s AND {refilled} >= 1"
    )
    update_params = [*refill_params, db_now, scope, digest, *refill_params]
    insert = (
        f"INSERT INTO {table} (scope, key_hash, tokens, updated_at) VALUES (%s, %s, %s, %s) "  # noqa: S608
        "ON CONFLICT (scope, key_hash) DO NOTHING"
    )
    with _no_flush(), connection.cursor() as cursor:
        cursor.execute(update, update_params)
        if cursor.rowcount:
            return True
        cursor.execute(insert, [scope, digest, float(rate - 1), db_now])
        if cursor.rowcount:
            return True
        # The bucket exists (empty), or a concurrent first request created it just now: try once more.
        cursor.execute(update, update_params)
        return bool(cursor.rowcount)


def purge_idle(older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete buckets untouched for `older_than` (a full bucket and a missing one behave the same)."""
    deleted, _ = RateBucket.objects.filter(updated_at__lt=timezone.now() - older_than).delete()
    return deleted
