"""Sending the SMS series: `send_due()` (the worker runs it every five minutes; `amparo outreach
send_due` runs it once).

Within the allowed hours (AMPARO_OUTREACH_SEND_HOURS, Maputo time) every active subscriber whose
next message is due gets it: the approved translation of their series in their language (or in
Portuguese), one message per cadence. Each message becomes an intake outgoing SMS, handed to the
channel's provider at most AMPARO_OUTREACH_RATE_PER_SECOND per second per channel; a provider failure
is retried by intake's own back-off (`amparo channels send_due`), and the provider's delivery reports
update its status, which the campaign statistics read. Nothing unapproved is ever sent: the
approval is checked again when each message is sent.

`now`, `sleep` and `clock` can be given (tests drive a controllable clock).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amparo.core import audit
from amparo.intake import sms as intake_sms
from amparo.intake import tasks as intake_tasks
from amparo.outreach import actions, conf, subscriptions
from amparo.outreach.models import ContentStatus, SeriesMessage, Subscriber, SubscriberState, Translation

logger = logging.getLogger(__name__)

SYSTEM = audit.Actor.system("outreach:send_due")
RETRY_LATER = dt.timedelta(days=1)


def within_hours(now: dt.datetime) -> bool:
    start, end = conf.send_hours()
    local = timezone.localtime(now).time()
    return start <= local < end


def compose(text: str, language: str) -> str:
    """A series message as sent: the tip and how to stop, folded to GSM-7 and at most three parts."""
    with translation.override(language):
        return intake_sms.sms_text(text.strip() + " " + _("Send STOP to stop."))


def series_translation(sub: Subscriber) -> Translation | None:
    """The approved translation of the subscriber's series in their language, else in Portuguese."""
    if sub.series_id is None:
        return None
    found = {
        tr.language: tr
        for tr in Translation.objects.select_related("item").filter(
            item_id=sub.series_id,
            status=ContentStatus.APPROVED,
            language__in={sub.language, settings.LANGUAGE_CODE},
        )
    }
    return found.get(sub.language) or found.get(settings.LANGUAGE_CODE)


@dataclass
class Pacer:
    """At most `rate` sends per second per channel."""

    rate: int
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    next_at: dict[object, float] = field(default_factory=dict)

    def wait(self, channel_id: object) -> None:
        now = self.clock()
        due = self.next_at.get(channel_id, now)
        if due > now:
            self.sleep(due - now)
            now = due
        self.next_at[channel_id] = now + 1.0 / self.rate


def send_due(
    now: dt.datetime | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Send every series message due at `now`; return how many were handed to a provider."""
    now = now or timezone.now()
    subscriptions.activate_unfinished(SYSTEM, now)
    if not within_hours(now):
        return 0
    pacer = Pacer(conf.rate_per_second(), sleep, clock)
    due = list(
        Subscriber.objects.filter(state=SubscriberState.ACTIVE, next_due_at__lte=now)
        .order_by("next_due_at")
        .values_list("pk", flat=True)[: conf.batch_size()]
    )
    sent = 0
    for pk in due:
        sub = Subscriber.objects.filter(pk=pk, state=SubscriberState.ACTIVE).first()
        if sub is None:
            continue
        if sub.series_id is None:
            series = actions.choose_series(sub)
            if series is None:
                actions.defer_subscriber(SYSTEM, sub, now + RETRY_LATER)
                continue
            actions.assign_series(SYSTEM, sub, series)
        tr = series_translation(sub)
        message = (
            SeriesMessage.objects.filter(translation=tr, position=sub.next_position).first() if tr else None
        )
        if (
            tr is not None
            and message is None
            and not tr.messages.filter(position__gt=sub.next_position).exists()
        ):
            # Every message was sent already (a subscriber who came back continues where they stopped).
            actions.complete_subscriber(SYSTEM, sub)
            continue
        if tr is None or message is None:
            # Not approved any more: wait, send nothing.
            actions.defer_subscriber(SYSTEM, sub, now + RETRY_LATER)
            continue
        dispatch = actions.queue_dispatch(SYSTEM, sub, tr, message, compose(message.text, tr.language), now)
        if dispatch is None:
            continue
        pacer.wait(sub.channel_id)
        intake_tasks.attempt_send(str(dispatch.message_id))
        sent += 1
        if progress:
            progress(1)
    logger.info("outreach.send_due due=%d sent=%d", len(due), sent)
    return sent
