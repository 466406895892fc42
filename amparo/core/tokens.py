"""Staff API tokens (decision 12): random 256-bit secrets, shown once, stored as SHA-256 (the one
implementation of such bearer secrets is `amparo.core.bearer`; industry keys are the other kind).

A token looks like `amp_` followed by 43 URL-safe characters. Its first 12 characters (the prefix)
are stored in clear to find the row and to name the token in lists; the database keeps only the
SHA-256 of the whole token, compared in constant time. Tokens expire (90 days by default, at most
365) and can be revoked; an expired or revoked token, or one whose user is inactive, is refused.

Creating and revoking are audited writes in `amparo.core.actions` (`create_api_token`,
`revoke_api_token`); `verify` is what the API's authentication calls on every request.
"""

from __future__ import annotations

import datetime as dt

from amparo.core import bearer
from amparo.core.models import ApiToken

TOKEN_MARK = "amp_"  # noqa: S105  (a public marker, not a secret)
PREFIX_LENGTH = 12
DEFAULT_DAYS = 90
MAX_DAYS = 365
TOKENS = bearer.Kind(TOKEN_MARK, PREFIX_LENGTH)

new_token = TOKENS.new
token_prefix = TOKENS.prefix
is_well_formed = TOKENS.is_well_formed
hash_token = bearer.hash_secret


def status(token: ApiToken, now: dt.datetime | None = None) -> str:
    """'active', 'expired' or 'revoked' (for lists)."""
    return bearer.status(token, now)


def verify(token: str) -> ApiToken | None:
    """The ApiToken (with its user loaded) for a valid presented token, or None.

    Refused: malformed, unknown, revoked or expired tokens, and tokens of inactive users. The hash is
    compared in constant time. Marks the token as used (at most once a minute).
    """
    rows = ApiToken.objects.select_related("user", "user__agency")
    return bearer.verify(
        TOKENS, token, rows, hash_field="token_hash", owner_active=lambda row: row.user.is_active
    )
