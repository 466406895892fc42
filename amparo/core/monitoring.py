"""Who may read monitoring details: a caller presenting the monitoring token.

`/healthz` answers everyone with ok / not ok; its details (database, workers, queues) and `/metrics`
need `Authorization: Bearer <AMPARO_MONITORING_TOKEN>`. With no token configured, nobody gets them.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest


def monitoring_authorized(request: HttpRequest) -> bool:
    """True when the request carries the configured monitoring token (compared in constant time)."""
    expected = getattr(settings, "AMPARO_MONITORING_TOKEN", None)
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())
