"""Background work of the SMS and USSD channels.

- `file_web_report(submission_id)`: open the case and report of a web report the form stored
  (`actions.file_web_submission`); `file_pending_web_reports` (periodic, every minute) files any left
  for more than `actions.FILING_GRACE`.
- `process_sms(message_id)`: move an SMS conversation on with a message the webhook stored
  (`sms.process`) and queue the reply. `process_pending_sms` (a periodic job every minute) processes any
  message left unprocessed for more than `PENDING_GRACE` (its task lost or failed), oldest first.
- `send_sms(message_id)`: one attempt to hand an outgoing SMS to its provider. A retryable failure
  schedules the next attempt with exponential back-off (`AMPARO_SMS_RETRY_BASE_SECONDS` x 2^(n-1)); after
  `AMPARO_SMS_MAX_ATTEMPTS` the message is marked failed. With a backend that cannot defer (the
  immediate backend of the tests) the next attempt waits for `send_due_sms`, a periodic job (every
  minute, registered in IntakeConfig.ready(); `amparo worker` runs it, as does `amparo channels send_due`).
- `expire_stale_ussd_sessions()`: closes stale USSD sessions, keeping a partial report when call-back was
  consented (a periodic job every five minutes; also the task `expire_ussd_sessions`).

Arguments are ids only: the number and text are loaded, decrypted, inside the task.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks_db import DatabaseBackend

from amparo.core import audit
from amparo.intake import conf
from amparo.intake.models import ChannelAudit, InboundMessage, OutboundMessage, OutboundStatus
from amparo.intake.providers import ProviderError, provider_for

logger = logging.getLogger(__name__)

SYSTEM = audit.Actor.system("intake:sms")
# A stored message is left to its own task this long before the periodic job processes it instead.
PENDING_GRACE = dt.timedelta(seconds=30)


def enqueue_process(message_id: int) -> None:
    """Queue the processing of a stored inbound SMS inside the transaction that stored it."""
    _enqueue_here(process_sms, int(message_id))


def _enqueue_here(queued_task: Any, *args: Any) -> None:
    """Enqueue inside the current transaction where the backend allows it: the database queue's task row
    commits with the caller's rows, and the immediate backend runs the task there and then. A backend
    that runs tasks elsewhere gets it once the transaction has committed."""
    if isinstance(queued_task.get_backend(), DatabaseBackend | ImmediateBackend):
        queued_task.enqueue(*args)
    else:
        transaction.on_commit(lambda: queued_task.enqueue(*args))


def enqueue_filing(submission_id: Any) -> None:
    _enqueue_here(file_web_report, str(submission_id))


@task()
def file_web_report(submission_id: str) -> bool:
    from amparo.intake import actions

    return actions.file_web_submission(submission_id) is not None


def file_pending_web_reports() -> int:
    from amparo.intake import actions

    return actions.file_pending_web_reports()


@task()
def process_sms(message_id: int) -> bool:
    from amparo.intake import sms

    return sms.process(int(message_id)) is not None


def process_pending_sms(limit: int = 500) -> int:
    """Process stored messages whose task has not done so within `PENDING_GRACE`, oldest first (one
    transaction each); return how many were processed."""
    from amparo.intake import sms

    ids = list(
        InboundMessage.objects.filter(
            processed_at__isnull=True, received_at__lt=timezone.now() - PENDING_GRACE
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in ids:
        try:
            done += sms.process(pk) is not None
        except Exception:  # one bad message must not hold up the others; it is retried next time
            logger.exception("sms.process_failed message=%s", pk)
    return done


def backoff(attempts: int) -> dt.timedelta:
    """Delay before attempt `attempts + 1`: base, 2 x base, 4 x base, ... capped at six hours."""
    seconds = conf.sms_retry_base_seconds() * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, 6 * 3600))


def attempt_send(message_id: str) -> str:
    """Try to send one outgoing message now; return its status afterwards.

    The message is claimed in a short transaction (a lease on `next_attempt_at`, so a second worker
    skips it), sent outside any transaction (no lock is held while the provider answers), and the
    outcome is recorded, with its audit entry, in a second transaction."""
    now = timezone.now()
    with transaction.atomic():
        msg = (
            OutboundMessage.objects.select_for_update()
            .select_related("channel")
            .filter(pk=message_id, status=OutboundStatus.QUEUED)
            .first()
        )
        if msg is None:  # already sent, delivered or failed: a duplicate run does nothing
            return "skipped"
        if msg.next_attempt_at and msg.next_attempt_at > now:
            return "not_due"
        attempts = msg.attempts + 1
        lease = now + dt.timedelta(seconds=conf.sms_timeout() + 60)
        OutboundMessage.objects.filter(pk=msg.pk).update(attempts=attempts, next_attempt_at=lease)
    try:
        provider = provider_for(msg.channel)
        result = provider.send(to=msg.recipient, message=msg.text, sender=msg.channel.short_code)
    except ProviderError as exc:
        failure, result, provider_name = exc, None, ""
    else:
        failure, provider_name = None, provider.name
    retry_at = None
    with transaction.atomic():
        msg = OutboundMessage.objects.select_for_update().get(pk=msg.pk)
        msg.attempts = attempts
        if failure is not None:
            msg.failure_reason = failure.reason
            if failure.retryable and attempts < conf.sms_max_attempts():
                msg.next_attempt_at = retry_at = timezone.now() + backoff(attempts)
            else:
                msg.status = OutboundStatus.FAILED
                msg.final_at = timezone.now()
                msg.next_attempt_at = None
                msg.recipient = ""
            fields = ["attempts", "failure_reason", "next_attempt_at", "status", "final_at", "recipient"]
            msg.save(update_fields=fields)
            audit.record(SYSTEM, ChannelAudit.SMS_SEND_FAILED, msg, ["attempts", "failure_reason", "status"])
            logger.warning(
                "sms.send_failed message=%s attempt=%d reason=%s", msg.pk, attempts, failure.reason
            )
        else:
            msg.status = OutboundStatus.SENT
            msg.provider_message_id = result.provider_message_id
            msg.sent_at = timezone.now()
            msg.next_attempt_at = None
            msg.failure_reason = ""
            if provider_name == "log":  # nothing will report delivery: forget the number now
                msg.recipient = ""
            fields = ["attempts", "status", "provider_message_id", "sent_at", "next_attempt_at"]
            msg.save(update_fields=[*fields, "failure_reason", "recipient"])
            audit.record(SYSTEM, ChannelAudit.SMS_SEND, msg, ["status", "provider_message_id"])
        status = msg.status
    if retry_at is not None:
        schedule_retry(str(message_id), retry_at)
    return status


def schedule_retry(message_id: str, when: dt.datetime) -> None:
    backend = send_sms.get_backend()
    if getattr(backend, "supports_defer", False):
        send_sms.using(run_after=when).enqueue(message_id)
    # Otherwise `send_due_sms` picks it up once due.


def enqueue_send(message_id: str) -> None:
    """Queue the first attempt. With the database queue, the task row is written in the current
    transaction (it commits, or not, with the message: no second commit, and no message left without its
    task); a backend that runs tasks elsewhere gets it once the transaction has committed."""
    if isinstance(send_sms.get_backend(), DatabaseBackend):
        send_sms.enqueue(str(message_id))
    else:
        transaction.on_commit(lambda: send_sms.enqueue(str(message_id)))


@task()
def send_sms(message_id: str) -> str:
    return attempt_send(message_id)


def send_due_sms(limit: int = 500) -> int:
    """Attempt every queued message whose retry is due (or which was never attempted); return how many."""
    now = timezone.now()
    ids = list(
        OutboundMessage.objects.filter(status=OutboundStatus.QUEUED)
        .exclude(next_attempt_at__gt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        attempt_send(str(pk))
    return len(ids)


def expire_stale_ussd_sessions() -> int:
    from amparo.intake import ussd

    return ussd.expire_stale_sessions()


@task()
def expire_ussd_sessions() -> int:
    return expire_stale_ussd_sessions()
