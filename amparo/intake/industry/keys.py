"""Industry API keys: random 256-bit secrets, shown once, stored as SHA-256 (like the staff API tokens of
amparo.core.tokens, in a separate table: a key belongs to an organisation, not to a person).

A key looks like `ampind_` followed by 43 URL-safe characters; its first 16 characters (the prefix) are
kept in clear to find the row and to name the key in lists. `verify` is what the API's authentication
calls on every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db.models import Q
from django.utils import timezone

from amparo.intake.models import IndustryApiKey

KEY_MARK = "ampind_"
PREFIX_LENGTH = 16
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_SECRET_BYTES = 32
_KEY_LENGTH = len(KEY_MARK) + 43


def new_key() -> str:
    return KEY_MARK + secrets.token_urlsafe(_SECRET_BYTES)


def key_prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


def hash_key(key: str) -> str:
    """The SHA-256 (hex) stored for a key. A fast hash is enough for 256-bit random secrets."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def is_well_formed(key: str) -> bool:
    return (
        len(key) == _KEY_LENGTH
        and key.startswith(KEY_MARK)
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in key[len(KEY_MARK) :])
    )


def status(row: IndustryApiKey, now: dt.datetime | None = None) -> str:
    now = now or timezone.now()
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def verify(key: str) -> IndustryApiKey | None:
    """The key row (with its organisation) for a valid presented key, or None: malformed, unknown, revoked
    or expired keys and keys of inactive organisations are refused. Compared in constant time."""
    if not isinstance(key, str) or not is_well_formed(key):
        return None
    row = IndustryApiKey.objects.select_related("organisation").filter(prefix=key_prefix(key)).first()
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(key)):
        return None
    now = timezone.now()
    if status(row, now) != "active" or not row.organisation.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        stale = now - LAST_USED_RESOLUTION
        IndustryApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=row.pk
        ).update(last_used_at=now)
        row.last_used_at = now
    return row
