"""The SMS side of the campaigns: `APRENDER`/`LEARN` subscribes, `PARAR`/`STOP` unsubscribes.

Registered with `amparo.intake.hooks` from ready(); each handler runs inside the transaction in which
intake stores the inbound message (a message delivered twice never reaches a handler twice).

Subscribing is a short exchange: the language comes from the keyword (`APRENDER` Portuguese, `LEARN`
English, `APRENDER EN` ...) and can be changed by sending a language name; then the audience (a
number); then the province (a number, or 0 to skip). Only numbers and language names are taken as
answers, and only for half an hour: anything else goes on to the report conversation, so that an
unfinished subscription never stands in the way of a report. A subscriber who never finishes gets
the defaults (parents and caregivers, province unknown) at the next `send_due` after a day, and can
send `APRENDER` again at any time to change their choices.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.core import crypto
from amparo.core.emergency import emergency_numbers
from amparo.core.models import Province
from amparo.intake.hooks import SmsContext, SmsHookReply
from amparo.outreach import actions, keywords
from amparo.outreach.models import Audience, Subscriber, SubscriberState

SUBSCRIBE_KEYWORDS = tuple(keywords.SUBSCRIBE_WORDS)
STOP_KEYWORDS = tuple(keywords.STOP_WORDS)
PENDING_WINDOW = dt.timedelta(minutes=30)
DEFAULT_AUDIENCE = Audience.CAREGIVERS

# Short audience names for SMS and USSD lists (in the order of the numbers people reply with).
AUDIENCE_CHOICES = [
    (Audience.CHILDREN_9_12, gettext_lazy("Child aged 9 to 12")),
    (Audience.CHILDREN_13_17, gettext_lazy("Teenager aged 13 to 17")),
    (Audience.CAREGIVERS, gettext_lazy("Parent or caregiver")),
    (Audience.TEACHERS, gettext_lazy("Teacher")),
    (Audience.HEALTH_SOCIAL, gettext_lazy("Health or social worker")),
    (Audience.PRIVATE_SECTOR, gettext_lazy("Company or business")),
]


def numbered(options: list[str]) -> str:
    return "\n".join(f"{i} {label}" for i, label in enumerate(options, start=1))


def provinces() -> list[Province]:
    return list(Province.objects.order_by("name"))


# Texts (call inside translation.override)


def audience_question() -> str:
    return _(
        "Amparo: free tips to stay safe online. Who are you? Reply with a number:\n%(options)s\nSend a language name (PORTUGUES, ENGLISH) to change language."
    ) % {"options": numbered([str(label) for _code, label in AUDIENCE_CHOICES])}


def province_question() -> str:
    names = [p.name for p in provinces()]
    return _("In which province do you live? Reply with a number, or 0 to skip:\n%(options)s") % {
        "options": numbered(names)
    }


def subscribed_reply(cadence_days: int) -> str:
    return _(
        "Thank you. You will receive one tip every %(days)s days, between 8:00 and 19:00. Send STOP at any time to stop, or LEARN to change your choices."
    ) % {"days": cadence_days}


def stopped_reply() -> str:
    return (
        _(
            "You will receive no more tips from Amparo. Send LEARN to start again. In danger now? Call %(police)s or %(helpline)s (free)."
        )
        % emergency_numbers()
    )


def invalid_reply(question: str) -> str:
    return _("Sorry, that is not one of the choices.") + " " + question


# Look-up


def find(channel: object, phone_norm: str) -> Subscriber | None:
    candidates = crypto.blind_index_candidates(phone_norm)
    if not candidates:
        return None
    qs: QuerySet[Subscriber] = Subscriber.objects.select_for_update()
    return qs.filter(channel=channel, phone_index__in=candidates).first()


def _offered(channel: object, language: str) -> bool:
    offered = getattr(channel, "languages", None) or []
    return not offered or language in offered


# Handlers


def on_subscribe(ctx: SmsContext) -> SmsHookReply | None:
    command = keywords.parse(ctx.text)
    if command is None or command.kind != "subscribe":
        return None
    language = command.language if _offered(ctx.channel, command.language) else ctx.language
    existing = find(ctx.channel, ctx.phone_norm)
    index = existing.phone_index if existing and existing.phone_index else crypto.blind_index(ctx.phone_norm)
    sub = actions.start_subscription(ctx.actor, ctx.channel, ctx.phone, index, language=language)
    with translation.override(sub.language):
        return SmsHookReply(audience_question(), end_conversation=True)


def on_stop(ctx: SmsContext) -> SmsHookReply | None:
    """PARAR stops a subscription at once and is confirmed; a repeated PARAR is confirmed again and
    changes nothing. A phone that never subscribed gets the report conversation's own PARAR."""
    command = keywords.parse(ctx.text)
    if command is None or command.kind != "stop":
        return None
    sub = find(ctx.channel, ctx.phone_norm)
    if sub is None:
        return None
    actions.stop_subscription(ctx.actor, sub)
    with translation.override(sub.language):
        return SmsHookReply(stopped_reply(), end_conversation=True)


def on_pending(ctx: SmsContext) -> SmsHookReply | None:
    """An answer to the subscription's questions, if the phone is in the middle of them."""
    language = keywords.language_word(ctx.text)
    number = keywords.number(ctx.text)
    if language is None and number is None:
        return None
    sub = find(ctx.channel, ctx.phone_norm)
    if (
        sub is None
        or sub.state not in (SubscriberState.AUDIENCE, SubscriberState.PROVINCE)
        or sub.updated_at < timezone.now() - PENDING_WINDOW
    ):
        return None
    if language is not None:
        if _offered(ctx.channel, language):
            actions.update_subscription(ctx.actor, sub, language=language)
        with translation.override(sub.language):
            return SmsHookReply(_question(sub))
    with translation.override(sub.language):
        return SmsHookReply(_answer(ctx, sub, number))


def _question(sub: Subscriber) -> str:
    return audience_question() if sub.state == SubscriberState.AUDIENCE else province_question()


def _answer(ctx: SmsContext, sub: Subscriber, number: int | None) -> str:
    if sub.state == SubscriberState.AUDIENCE:
        if number is not None and 1 <= number <= len(AUDIENCE_CHOICES):
            actions.update_subscription(
                ctx.actor,
                sub,
                audience=str(AUDIENCE_CHOICES[number - 1][0]),
                state=SubscriberState.PROVINCE,
                invalid_count=0,
            )
            return province_question()
        return _invalid(ctx, sub, audience=DEFAULT_AUDIENCE)
    options = provinces()
    if number is not None and 0 <= number <= len(options):
        province = options[number - 1] if number else None
        actions.update_subscription(ctx.actor, sub, province=province, state=SubscriberState.ACTIVE)
        return subscribed_reply(sub.series.cadence_days if sub.series else 7)
    return _invalid(ctx, sub)


def _invalid(ctx: SmsContext, sub: Subscriber, **defaults: object) -> str:
    """Ask once more; after a second wrong answer take the defaults and finish."""
    if sub.invalid_count >= 1:
        actions.update_subscription(ctx.actor, sub, state=SubscriberState.ACTIVE, **defaults)
        return subscribed_reply(sub.series.cadence_days if sub.series else 7)
    actions.update_subscription(ctx.actor, sub, invalid_count=sub.invalid_count + 1)
    return invalid_reply(_question(sub))


def activate_unfinished(actor: object, now: dt.datetime) -> int:
    """Subscribers who left the questions unanswered for a day start with the defaults."""
    stale = Subscriber.objects.filter(
        state__in=[SubscriberState.AUDIENCE, SubscriberState.PROVINCE],
        updated_at__lt=now - dt.timedelta(days=1),
    )
    count = 0
    for sub in stale:
        changes: dict[str, object] = {"state": SubscriberState.ACTIVE}
        if not sub.audience:
            changes["audience"] = DEFAULT_AUDIENCE
        actions.update_subscription(actor, sub, **changes)
        count += 1
    return count


def sms_text_of(text: str) -> str:
    """A reply as intake sends it (folded to GSM-7, at most three parts)."""
    from amparo.intake.sms import sms_text

    return sms_text(text)
