"""Staff API tokens (decision 12): random 256-bit secrets, shown once, stored as SHA-256.

A token looks like `amp_` followed by 43 URL-safe characters. Its first 12 characters (the prefix)
are stored in clear to find the row and to name the token in lists; the database keeps only the
SHA-256 of the whole token, compared in constant time. Tokens expire (90 days by default, at most
365) and can be revoked; an expired or revoked token, or one whose user is inactive, is refused.

Creating and revoking are audited writes in `amparo.core.actions` (`create_api_token`,
`revoke_api_token`); `verify` is what the API's authentication calls on every request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db.models import Q
from django.utils import timezone

from amparo.core.models import ApiToken

TOKEN_MARK = "amp_"  # noqa: S105  (a public marker, not a secret)
PREFIX_LENGTH = 12
DEFAULT_DAYS = 90
MAX_DAYS = 365
# last_used_at is written at most this often per token, so that busy clients do not write on every call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
_SECRET_BYTES = 32
_TOKEN_LENGTH = len(TOKEN_MARK) + 43  # token_urlsafe(32) gives 43 characters


def new_token() -> str:
    """A fresh token (256 random bits)."""
    return TOKEN_MARK + secrets.token_urlsafe(_SECRET_BYTES)


def token_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]


def hash_token(token: str) -> str:
    """The SHA-256 (hex) stored for a token. A fast hash is enough for 256-bit random secrets."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed(token: str) -> bool:
    return (
        len(token) == _TOKEN_LENGTH
        and token.startswith(TOKEN_MARK)
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in token[len(TOKEN_MARK) :])
    )


def status(token: ApiToken, now: dt.datetime | None = None) -> str:
    """'active', 'expired' or 'revoked' (for lists)."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    return "active"


def verify(token: str) -> ApiToken | None:
    """The ApiToken (with its user loaded) for a valid presented token, or None.

    Refused: malformed, unknown, revoked or expired tokens, and tokens of inactive users. The hash is
    compared in constant time. Marks the token as used (at most once a minute).
    """
    if not isinstance(token, str) or not is_well_formed(token):
        return None
    row = ApiToken.objects.select_related("user", "user__agency").filter(prefix=token_prefix(token)).first()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
        return None
    now = timezone.now()
    if status(row, now) != "active" or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional update: concurrent requests write it once.
        stale = now - LAST_USED_RESOLUTION
        ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=row.pk).update(
            last_used_at=now
        )
        row.last_used_at = now
    return row
