"""Preservation and disclosure requests to service providers: numbers, deadlines, notices and the reminder job.

- A request's number is random ("PR-2026-7K3QX9"): it carries the year, no count and no personal data.
- Its answer is due `provider.response_days` days after the (Maputo) day it was sent.
- `preservation_reminders(now)` ("cases.preservation_reminders", hourly): a request sent or acknowledged whose
  deadline has passed gets a reminder to the person who made it (again every REMIND_EVERY while unanswered);
  `AMPARO_PRESERVATION_GRACE_DAYS` days (default 14) after the deadline it becomes *expired*. The job is
  idempotent: at the same clock a second run changes nothing (each reminder stamps `last_reminder_at`, and
  notices carry a dedup key).
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.db.models import Case as When_
from django.db.models import IntegerField, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.cases.models import PreservationRequest, PreservationStatus
from amparo.core import audit
from amparo.core.notifications import notify, register_kind
from amparo.core.schedule import register_periodic
from amparo.lib.env import env_int

PRESERVATION_OVERDUE = "cases.preservation_overdue"
PRESERVATION_EXPIRED = "cases.preservation_expired"
PRESERVATION_ANSWERED = "cases.preservation_answered"

register_kind(PRESERVATION_OVERDUE, _("A service provider has not answered your request in time."))
register_kind(PRESERVATION_EXPIRED, _("Your request to a service provider expired without an answer."))
register_kind(PRESERVATION_ANSWERED, _("A service provider answered your request."))

OPEN = (PreservationStatus.SENT, PreservationStatus.ACKNOWLEDGED)
REMIND_EVERY = dt.timedelta(days=7)
SYSTEM = audit.Actor.system("preservation-reminders")

# Crockford's base32 without I, L, O, U (as case references).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_number(today: dt.date | None = None) -> str:
    year = (today or timezone.localdate()).year
    return f"PR-{year}-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def unused_number() -> str:
    for _attempt in range(10):
        number = new_number()
        if not PreservationRequest.objects.filter(number=number).exists():
            return number
    raise RuntimeError("could not allocate an unused request number")


def deadline_for(sent_at: dt.datetime, response_days: int) -> dt.date:
    """The day the answer is due: the Maputo date of sending plus the provider's days."""
    return timezone.localdate(sent_at) + dt.timedelta(days=response_days)


def grace_days() -> int:
    return env_int("AMPARO_PRESERVATION_GRACE_DAYS", 14, minimum=0)


def is_overdue(request: PreservationRequest, today: dt.date | None = None) -> bool:
    today = today or timezone.localdate()
    return request.status in OPEN and request.deadline is not None and request.deadline < today


def with_overdue_first(qs: QuerySet[PreservationRequest], today: dt.date | None = None) -> QuerySet:
    """Overdue first (oldest deadline first), then the other open requests by deadline, then the rest."""
    today = today or timezone.localdate()
    rank = When_(
        When(status__in=OPEN, deadline__lt=today, then=Value(0)),
        When(status__in=OPEN, then=Value(1)),
        When(status=PreservationStatus.DRAFT, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return qs.annotate(overdue_rank=rank).order_by("overdue_rank", "deadline", "-created_at")


def _url(request: PreservationRequest) -> str:
    return reverse("cases:detail", args=[request.case.reference]) + "#preservation"


def notify_requester(
    request: PreservationRequest, kind: str, dedup_key: str, at: dt.datetime | None = None
) -> int:
    """Tell the person who made the request (inside the caller's transaction)."""
    if request.created_by_id is None:
        return 0
    return len(
        notify(
            [request.created_by],
            kind,
            reference=request.case.reference,
            url=_url(request),
            dedup_key=dedup_key,
            at=at,
        )
    )


def preservation_reminders(now: dt.datetime | None = None) -> int:
    """Remind about, then expire, unanswered requests past their deadline; returns how many were changed."""
    from amparo.cases.actions.justice import expire_preservation_request, remind_preservation_request

    now = now or timezone.now()
    today = timezone.localdate(now)
    expire_before = today - dt.timedelta(days=grace_days())
    changed = 0
    due = PreservationRequest.objects.filter(status__in=OPEN, deadline__lt=today).order_by("deadline", "pk")
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            request = (
                PreservationRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("case", "created_by", "provider")
                .filter(pk=pk, status__in=OPEN)
                .first()
            )
            if request is None:
                continue  # answered meanwhile, or another worker has it
            if request.deadline < expire_before:
                expire_preservation_request(SYSTEM, request, now=now)
                changed += 1
            elif request.last_reminder_at is None or request.last_reminder_at <= now - REMIND_EVERY:
                remind_preservation_request(SYSTEM, request, now=now)
                changed += 1
    return changed


register_periodic("cases.preservation_reminders", every=dt.timedelta(hours=1), job=preservation_reminders)
