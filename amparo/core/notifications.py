"""Notifications to staff: a row per recipient shown in the app (`/notifications/`, a count in the header),
and an e-mail sent after the transaction that caused it commits.

A notification holds a *kind*, the case reference and a link, never personal data; its words come from
the kind's label, rendered in the reader's language. E-mails say the same and nothing more (they leave our
systems). Apps register their kinds (`register_kind`) and call `notify` inside the transaction of the
action that causes the notice, so that a rolled-back action notifies nobody.

`dedup_key` makes a notice idempotent per recipient: the overdue job may run any number of times and
each person gets one notice per case and deadline.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django_tasks import task

from amparo.core import audit
from amparo.core.models import Notification
from amparo.lib.env import env_str

logger = logging.getLogger(__name__)


class NotificationAudit(StrEnum):
    READ = "core:notification:read"


_kinds: dict[str, Promise | str] = {}


def register_kind(code: str, label: Promise | str) -> None:
    """`label` is a lazily translated sentence without placeholders (it names no one)."""
    if len(code) > Notification._meta.get_field("kind").max_length:
        raise ValueError(f"notification kind {code!r} is too long")
    _kinds[code] = label


def kind_label(code: str) -> str:
    label = _kinds.get(code)
    return str(label) if label is not None else gettext("Notice")


def notify(
    recipients: Iterable[Any],
    kind: str,
    *,
    reference: str = "",
    url: str = "",
    dedup_key: str = "",
    at: dt.datetime | None = None,
) -> list[Notification]:
    """Create one notification per recipient (skipping those who already have `dedup_key`) and e-mail
    them once the surrounding transaction commits. Returns the notifications created."""
    if kind not in _kinds:
        raise ValueError(f"unknown notification kind {kind!r}: register it first")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify() must run inside the transaction of the action that causes it")
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    if dedup_key and people:
        already = set(
            Notification.objects.filter(recipient_id__in=people, dedup_key=dedup_key).values_list(
                "recipient_id", flat=True
            )
        )
        people = {pk: user for pk, user in people.items() if pk not in already}
    if not people:
        return []
    when = at or timezone.now()
    rows = [
        Notification(
            recipient=user, kind=kind, reference=reference, url=url, dedup_key=dedup_key, created_at=when
        )
        for user in people.values()
    ]
    # A concurrent run that created the same (recipient, dedup_key) first wins; ours is dropped.
    Notification.objects.bulk_create(rows, ignore_conflicts=bool(dedup_key))
    ids = [str(row.pk) for row in rows if row.recipient.email]
    if ids:
        transaction.on_commit(lambda: send_notification_emails.enqueue(ids))
    return rows


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(user: Any, ids: Iterable[Any] | None = None) -> int:
    """Mark the user's own notifications read (all of them when `ids` is None); returns how many."""
    with transaction.atomic():
        qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        count = qs.update(read_at=timezone.now())
        if count:
            audit.record(user, NotificationAudit.READ, user, ["notification.read_at"])
    return count


# --- E-mail --------------------------------------------------------------------------------------


def base_url() -> str:
    return env_str("AMPARO_PUBLIC_BASE_URL", "https://amparo.example").strip().rstrip("/")


def email_content(notification: Notification) -> tuple[str, str]:
    """(subject, body) of the e-mail for a notification: the kind, the case reference, the link. Nothing else."""
    with translation.override(settings.LANGUAGE_CODE):
        label = kind_label(notification.kind)
        subject = gettext("Amparo: %(notice)s") % {"notice": label}
        lines = [label, ""]
        if notification.reference:
            lines.append(gettext("Case: %(reference)s") % {"reference": notification.reference})
        if notification.url:
            lines.append(gettext("Open: %(link)s") % {"link": base_url() + notification.url})
        lines += [
            "",
            gettext("This message carries no details of the case. Sign in to Amparo to read them."),
        ]
    return subject, "\n".join(lines)


@task()
def send_notification_emails(ids: list[str]) -> int:
    """E-mail the notifications `ids` that have not been e-mailed yet (ids only as arguments)."""
    sent = 0
    for notification in Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).select_related(
        "recipient"
    ):
        address = notification.recipient.email
        if not address:
            continue
        subject, body = email_content(notification)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # noqa: BLE001  (one bad address or a mail server down must not stop the rest)
            logger.warning("notification e-mail %s failed", notification.pk)
            continue
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
        sent += 1
    return sent
