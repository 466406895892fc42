"""Bearer secrets: random 256-bit values shown once, stored as SHA-256, found by a prefix kept in clear.

The staff API tokens (`amparo.core.tokens`, `amp_…`) and the industry API keys
(`amparo.intake.industry.keys`, `ampind_…`) are two kinds of the same thing, with their own tables: a
token belongs to a user, a key to an organisation. This module is the one implementation of making,
hashing, checking and verifying them (decision 0012): a presented secret must be well formed, its prefix
must find a row, its SHA-256 must equal the stored one (compared in constant time), the row must be
neither revoked nor expired and its owner active. The row's `last_used_at` is written at most once a
minute, with a conditional update so that concurrent requests write it once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

SECRET_BYTES = 32
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Kind:
    """One kind of bearer secret: its visible mark (`amp_`) and how many leading characters are kept."""

    mark: str
    prefix_length: int

    @property
    def length(self) -> int:
        return len(self.mark) + 43  # token_urlsafe(32) gives 43 characters

    def new(self) -> str:
        """A fresh secret (256 random bits)."""
        return self.mark + secrets.token_urlsafe(SECRET_BYTES)

    def prefix(self, secret: str) -> str:
        return secret[: self.prefix_length]

    def is_well_formed(self, secret: str) -> bool:
        return (
            len(secret) == self.length
            and secret.startswith(self.mark)
            and all(c.isascii() and (c.isalnum() or c in "-_") for c in secret[len(self.mark) :])
        )


def hash_secret(secret: str) -> str:
    """The SHA-256 (hex) stored for a secret. A fast hash is enough for 256-bit random secrets."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def status(row: Any, now: dt.datetime | None = None) -> str:
    """'active', 'expired' or 'revoked' (a row without `expires_at` does not expire)."""
    now = now or timezone.now()
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def verify(
    kind: Kind, secret: Any, rows: QuerySet, *, hash_field: str, owner_active: Callable[[Any], bool]
) -> Any | None:
    """The row of `rows` for a valid presented `secret`, or None (malformed, unknown, revoked, expired,
    or its owner inactive). Marks the row as used (at most once a minute)."""
    if not isinstance(secret, str) or not kind.is_well_formed(secret):
        return None
    row = rows.filter(prefix=kind.prefix(secret)).first()
    if row is None or not hmac.compare_digest(getattr(row, hash_field), hash_secret(secret)):
        return None
    now = timezone.now()
    if status(row, now) != "active" or not owner_active(row):
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        stale = now - LAST_USED_RESOLUTION
        rows.model.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=row.pk
        ).update(last_used_at=now)
        row.last_used_at = now
    return row
