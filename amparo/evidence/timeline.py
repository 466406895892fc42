"""Evidence's entries on the case timeline (registered with amparo.cases.timeline in EvidenceConfig.ready()):
each item received into the case's vault, by its short id and declared type, never its file name; and
each takedown notice for the case's URLs with its answer (the URL itself is not shown here).

An agency holding the case through a referral sees them only when the "evidence" section was shared, and
every reader needs the evidence read right.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from amparo.cases.models import Case, ShareableField
from amparo.cases.timeline import Entry
from amparo.core.policy import can
from amparo.evidence.models import EvidenceItem, TakedownNotice, TakedownStatus
from amparo.evidence.permissions import EvidencePermission, TakedownPermission


def evidence_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    if ShareableField.EVIDENCE not in sections or not can(user, EvidencePermission.READ, case):
        return
    url = reverse("evidence:case", args=[case.reference])
    for item in EvidenceItem.objects.filter(case=case).select_related("received_by_agency"):
        yield Entry(
            at=item.received_at,
            kind="evidence",
            title=_("Evidence item %(id)s received (%(type)s, %(size)s).")
            % {
                "id": item.short_id,
                "type": item.declared_type or _("file"),
                "size": filesizeformat(item.size),
            },
            actor=item.received_by_agency.short_name,
            url=url,
        )


def takedown_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    if not can(user, TakedownPermission.NOTICE_MANAGE, case):
        return
    url = reverse("evidence:takedown")
    for notice in TakedownNotice.objects.filter(case=case).select_related("organisation"):
        yield Entry(
            at=notice.requested_at,
            kind="takedown",
            title=_("Takedown notice sent (%(platform)s).") % {"platform": notice.get_platform_display()},
            actor=str(notice.organisation or ""),
            url=url,
        )
        if notice.answered_at is None:
            continue
        if notice.status == TakedownStatus.REMOVED:
            title = _("The material was removed, %(time)s after the notice.") % {
                "time": timesince(notice.requested_at, notice.removed_at)
            }
        else:
            title = _("Answer to the takedown notice: %(status)s.") % {"status": notice.get_status_display()}
        yield Entry(at=notice.answered_at, kind="takedown", title=title, url=url)
