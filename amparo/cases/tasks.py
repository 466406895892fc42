"""Periodic work of the cases app (registered with amparo.core.schedule from CasesConfig.ready()).

- `notify_overdue()` ("cases.notify_overdue", every 10 minutes): tells the assignee and the owning agency's
  supervisors about each missed time limit (one notice per case and deadline: the notifications' dedup
  key makes the job idempotent and safe to run twice at once), and the receiving agency about referrals
  not answered by their `respond_by`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from amparo.cases import deadlines, notices
from amparo.cases.models import Case, Referral, ReferralStatus
from amparo.core.roles import Role
from amparo.core.schedule import register_periodic

BATCH = 200


def _supervisors(cache: dict[Any, list[Any]], case: Case) -> list[Any]:
    key = (case.owning_agency_id, case.province_id, case.district_id)
    if key not in cache:
        cache[key] = notices.case_workers(case.owning_agency_id, case, [Role.AGENCY_SUPERVISOR])
    return cache[key]


def notify_overdue(now: dt.datetime | None = None) -> int:
    """Create the overdue notices due at `now` (default: the current time); returns how many were created."""
    now = now or timezone.now()
    created = 0
    supervisors: dict[Any, list[Any]] = {}
    cases = (
        deadlines.overdue_cases(Case.objects.all(), now)
        .select_related("assigned_to")
        .order_by("acknowledge_due_at", "pk")
    )
    ids = list(cases.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            for case in Case.objects.filter(pk__in=ids[start : start + BATCH]).select_related("assigned_to"):
                for missed in deadlines.missed(case, now):
                    created += notices.overdue(
                        case, missed.which, missed.due_at, _supervisors(supervisors, case)
                    )
    late = Referral.objects.filter(status=ReferralStatus.PENDING, respond_by__lt=now).select_related("case")
    with transaction.atomic():
        for referral in late:
            created += notices.referral_overdue(referral)
    return created


register_periodic("cases.notify_overdue", every=dt.timedelta(minutes=10), job=notify_overdue)
