"""Loading evidence for a user: an outsider gets 404, a reader without the right 403; reads are audited."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from amparo.core import audit
from amparo.core.policy import can
from amparo.evidence.models import EvidenceItem
from amparo.evidence.permissions import EvidenceAudit, EvidencePermission


def get_item_for_user(
    user: Any, item_id: Any, permission: EvidencePermission = EvidencePermission.READ
) -> EvidenceItem:
    try:
        pk = uuid.UUID(str(item_id))
    except ValueError:
        raise Http404 from None
    item = (
        EvidenceItem.objects.select_related("case", "case__owning_agency", "received_by_agency")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise Http404
    if not can(user, EvidencePermission.READ, item):
        audit.record_denied(user, item, 404)
        raise Http404
    if permission != EvidencePermission.READ and not can(user, permission, item):
        audit.record_denied(user, item, 403)
        raise PermissionDenied
    audit.record_read(user, EvidenceAudit.ITEM_VIEW, item)
    return item
