"""Every page of a district node shows when it last synchronised and how many changes wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone


def sync_state(request: HttpRequest) -> dict[str, Any]:
    if (
        settings.NODE_ROLE != "district"
        or not getattr(request, "user", None)
        or not request.user.is_authenticated
    ):
        return {}
    from amparo.sync import changes
    from amparo.sync.models import NodeState

    node_state = NodeState.objects.filter(pk=1).first()
    if node_state is None:
        return {"sync_banner": {"configured": False}}
    last = node_state.last_success_at
    stale = last is None or timezone.now() - last > dt.timedelta(hours=settings.SYNC_WARN_AFTER_HOURS)
    return {
        "sync_banner": {
            "configured": True,
            "last_success": last,
            "pending": changes.pending_count(),
            "conflicts": node_state.open_conflicts,
            "stale": stale,
            "wiped": node_state.wiped_at is not None,
        }
    }
