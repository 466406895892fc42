"""Token buckets in the database, keyed on a keyed hash of what is limited (a phone number, a client
address, a channel), so that a limit never stores the identifier itself.

    from amparo.intake.ratelimit import check_and_consume

    if not check_and_consume("sms:phone", phone, rate=30, per_seconds=60):
        return HttpResponse(status=429)

A bucket holds up to `rate` tokens and refills at `rate / per_seconds` per second; each call takes one.
Buckets are rows of `intake.RateBucket`, so every process and worker shares them. Check before acting, as
healthchecks' TokenBucket does.

One bucket is one statement: an upsert (`INSERT … ON CONFLICT DO UPDATE … WHERE refilled >= 1
RETURNING`) that creates a new bucket with one token taken, or refills an existing one and takes a token
in SQL only when one is there, so that two concurrent requests cannot both take the last token (the row is
locked by the statement itself). No row returned means an empty bucket (a refused request leaves the
bucket as it was, which refills the same as writing it back). `first_refused` takes from several buckets
(per client, global, once per form) in one transaction. Outside a transaction, the buckets' commit
does not wait for the disk (SQLite: `PRAGMA synchronous=NORMAL`, still crash-safe in WAL mode;
PostgreSQL: `SET LOCAL synchronous_commit TO OFF`, which may lose the last few hundred milliseconds of
bucket updates in a crash, never corrupt anything): a bucket is not a record, and a request then waits
for one disk flush (its own record's) rather than three.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from amparo.intake.models import RateBucket

_SALT = "amparo.intake.ratelimit"


def key_hash(scope: str, key: str) -> str:
    """The keyed hash stored for `key` (HMAC-SHA256 under a key derived from SECRET_KEY)."""
    return salted_hmac(_SALT, f"{scope}\x00{key}", algorithm="sha256").hexdigest()


def _refilled_sql(table: str) -> str:
    """SQL for the stored bucket's tokens after refilling up to now (parameters: rate, now, rate/per)."""
    if connection.vendor == "postgresql":
        elapsed = f"GREATEST(EXTRACT(EPOCH FROM (%s - {table}.updated_at))::float8, 0)"
        return f"LEAST(%s, {table}.tokens + {elapsed} * %s)"
    elapsed = f"MAX((julianday(%s) - julianday({table}.updated_at)) * 86400.0, 0)"
    return f"MIN(%s, {table}.tokens + {elapsed} * %s)"


@contextmanager
def _no_flush(*, several: bool = False) -> Iterator[None]:
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
            if several:
                with transaction.atomic():  # one write lock and one commit for all the buckets
                    yield
            else:
                yield  # one statement: its own implicit transaction
        finally:
            cursor.execute(f"PRAGMA synchronous={previous:d}")


@dataclass(frozen=True)
class Limit:
    """One bucket: `rate` tokens per `per_seconds`, keyed on (scope, keyed hash of key)."""

    scope: str
    key: str
    rate: int
    per_seconds: int


def check_and_consume(scope: str, key: str, *, rate: int, per_seconds: int) -> bool:
    """Take one token from the bucket `(scope, key)`; False when it is empty (the caller refuses)."""
    return first_refused(Limit(scope, key, rate, per_seconds)) is None


def first_refused(*limits: Limit) -> Limit | None:
    """Take one token from each bucket in turn and return the first that is empty (the caller refuses,
    saying which limit it hit), or None when every bucket gave one. The buckets before the empty one keep
    their token taken, as with separate `check_and_consume` calls; the statements share one commit."""
    for limit in limits:
        if limit.rate < 1 or limit.per_seconds < 1:
            raise ValueError("rate and per_seconds must be positive")
        if len(limit.scope) > 40:
            raise ValueError("scope names are at most 40 characters")
    now = timezone.now()
    db_now = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    table = connection.ops.quote_name(RateBucket._meta.db_table)
    refilled = _refilled_sql(table)
    # One statement per bucket: a new bucket is inserted with one token taken; an existing one is refilled
    # and loses a token only if it has one (the upsert's WHERE), atomically even against a concurrent
    # first request. A row comes back exactly when a token was taken.
    take = (
        f"INSERT INTO {table} (scope, key_hash, tokens, updated_at) VALUES (%s, %s, %s, %s) "  # noqa: S608  (no user input in the SQL)
        f"ON CONFLICT (scope, key_hash) DO UPDATE SET tokens = {refilled} - 1, updated_at = excluded.updated_at "
        f"WHERE {refilled} >= 1 RETURNING 1"
    )
    with _no_flush(several=len(limits) > 1), connection.cursor() as cursor:
        for limit in limits:
            refill_params = [float(limit.rate), db_now, limit.rate / limit.per_seconds]
            digest = key_hash(limit.scope, limit.key)
            cursor.execute(
                take, [limit.scope, digest, float(limit.rate - 1), db_now, *refill_params, *refill_params]
            )
            if cursor.fetchone() is None:
                return limit
    return None


def purge_idle(older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    """Delete buckets untouched for `older_than` (a full bucket and a missing one behave the same)."""
    deleted, _ = RateBucket.objects.filter(updated_at__lt=timezone.now() - older_than).delete()
    return deleted
