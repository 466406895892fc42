"""Industry API keys: random 256-bit secrets, shown once, stored as SHA-256 (the other kind of bearer secret
of amparo.core.bearer, beside the staff API tokens, in a separate table: a key belongs to an organisation,
not to a person).

A key looks like `ampind_` followed by 43 URL-safe characters; its first 16 characters (the prefix) are
kept in clear to find the row and to name the key in lists. `verify` is what the API's authentication
calls on every request.
"""

from __future__ import annotations

import datetime as dt

from amparo.core import bearer
from amparo.intake.models import IndustryApiKey

KEY_MARK = "ampind_"
PREFIX_LENGTH = 16
KEYS = bearer.Kind(KEY_MARK, PREFIX_LENGTH)

new_key = KEYS.new
key_prefix = KEYS.prefix
is_well_formed = KEYS.is_well_formed
hash_key = bearer.hash_secret


def status(row: IndustryApiKey, now: dt.datetime | None = None) -> str:
    return bearer.status(row, now)


def verify(key: str) -> IndustryApiKey | None:
    """The key row (with its organisation) for a valid presented key, or None: malformed, unknown, revoked
    or expired keys and keys of inactive organisations are refused. Compared in constant time."""
    rows = IndustryApiKey.objects.select_related("organisation")
    return bearer.verify(
        KEYS, key, rows, hash_field="key_hash", owner_active=lambda row: row.organisation.active
    )
