"""The SMS conversation: a short guided report, a receipt, and status checks by receipt.

One conversation per phone (by blind index) and channel walks through: what happened -> who is
affected -> province -> a few words (optional) -> call-back yes/no -> receipt. At any point the reporter
can send a keyword:

- a language (`EN`, `ENGLISH`, `PT`, `PORTUGUES`, `EMAKHUWA`, `XICHANGANA`, `CISENA`, `CINYANJA`, ...):
  the conversation switches and the current question is asked again in that language (the Mozambican
  languages fall back to Portuguese string by string until their catalogues exist);
- `ESTADO <receipt>` / `STATUS <receipt>`: the status in plain words and pending case-worker messages;
- `NOVO` / `NEW` to start again, `PARAR` / `STOP` to end, `AJUDA` / `HELP` for the emergency numbers.

`accept(channel, message)` stores the inbound message and queues its processing in one transaction; the
webhook acknowledges only after it commits. `process(message_id)` (the worker's `tasks.process_sms`)
then advances the conversation, creates the report when it is complete and queues the reply, in one
transaction; the reply is sent afterwards by `tasks.send_sms`. `receive` does both at once. A message id
already stored for the channel changes nothing and queues nothing. A message dated before the newest one already handled
(out-of-order delivery) is stored and added to the details being collected, but does not answer a
question nor get a reply.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from amparo.cases.taxonomy import Form
from amparo.core import audit, crypto
from amparo.core.emergency import emergency_numbers
from amparo.core.models import Agency, DataKey, Province
from amparo.intake import gsm, hooks, ratelimit, receipts, tasks
from amparo.intake.models import (
    Channel,
    ChannelAudit,
    InboundMessage,
    OutboundMessage,
    SmsConversation,
    WhoAffected,
)
from amparo.lib import envelope, normalise

logger = logging.getLogger(__name__)

MAX_REPLY_PARTS = 3
MAX_DETAILS_CHARS = 2000
DEFAULT_AGENCY = "linha-fala-crianca"
RECEIPT_CHECKS_PER_HOUR = 5

# What happened, in plain short words, and the taxonomy code each answer records (shared with USSD).
WHAT_CHOICES: list[tuple[str, object]] = [
    (Form.GROOMING, gettext_lazy("Asked for sexual photos or to meet")),
    (Form.SEXTORTION, gettext_lazy("Threat to share sexual photos")),
    (Form.NONCONSENSUAL_SHARING, gettext_lazy("Sexual photos shared without consent")),
    (Form.CSAM_DISTRIBUTION, gettext_lazy("Sexual images of a child seen online")),
    (Form.OFFER_FOR_IMAGES, gettext_lazy("Money or gifts offered for photos")),
    (Form.HARASSMENT, gettext_lazy("Sexual messages or harassment")),
    (Form.LIVE_STREAMING, gettext_lazy("Abuse shown on live video")),
    (Form.OTHER, gettext_lazy("Something else")),
]
WHO_CHOICES: list[tuple[str, object]] = [
    (WhoAffected.ME, gettext_lazy("Me")),
    (WhoAffected.CHILD_I_KNOW, gettext_lazy("A child I know")),
    (WhoAffected.CONTENT_FOUND, gettext_lazy("Content I found online")),
]

# Keywords are compared after folding accents and upper-casing.
LANGUAGE_KEYWORDS = {
    "PT": "pt",
    "PORTUGUES": "pt",
    "PORTUGUESE": "pt",
    "EN": "en",
    "ENG": "en",
    "ENGLISH": "en",
    "INGLES": "en",
    "EMAKHUWA": "vmw",
    "MAKHUWA": "vmw",
    "MACUA": "vmw",
    "XICHANGANA": "ts",
    "CHANGANA": "ts",
    "CISENA": "seh",
    "SENA": "seh",
    "CINYANJA": "ny",
    "NYANJA": "ny",
}
STATUS_KEYWORDS = {"ESTADO", "STATUS", "SITUACAO"}
NEW_KEYWORDS = {"NOVO", "NOVA", "NEW", "INICIO", "START", "DENUNCIA", "DENUNCIAR", "REPORT"}
STOP_KEYWORDS = {"PARAR", "STOP", "SAIR", "FIM", "END"}
HELP_KEYWORDS = {"AJUDA", "HELP", "SOCORRO"}

_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
_WORDS = re.compile(r"\s+")


@dataclass(frozen=True)
class Incoming:
    """An inbound SMS as the provider delivered it, already validated by the webhook."""

    provider_message_id: str
    phone: str
    text: str
    sent_at: dt.datetime | None = None
    link_id: str = ""


@dataclass(frozen=True)
class Outcome:
    duplicate: bool
    reply: str | None = None
    report_created: bool = False


def keyword_form(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORDS.sub(" ", stripped.upper()).strip()


def choice(text: str, count: int) -> int | None:
    """The 1-based option chosen, or None if `text` is not one of `count` options."""
    match = _CHOICE.match(text or "")
    if not match:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= count else None


def numbered(options: list[str]) -> str:
    return "\n".join(f"{i} {label}" for i, label in enumerate(options, start=1))


def provinces() -> list[Province]:
    return list(Province.objects.order_by("name"))


# ---------------------------------------------------------------------------
# Reply texts (call inside translation.override)


def status_keyword() -> str:
    return pgettext("SMS keyword to check a report", "STATUS")


def prompt_for(state: str) -> str:
    """The question asked in `state`, in the active language."""
    if state in (SmsConversation.State.IDLE, SmsConversation.State.WHAT):
        return _(
            "Amparo, confidential. In danger now? Call %(police)s or %(helpline)s (free). What happened? Reply with a number:\n%(options)s"
        ) % {"options": numbered([str(label) for _code, label in WHAT_CHOICES]), **emergency_numbers()}
    if state == SmsConversation.State.WHO:
        return _("Who is affected? Reply with a number:\n%(options)s") % {
            "options": numbered([str(label) for _code, label in WHO_CHOICES])
        }
    if state == SmsConversation.State.PROVINCE:
        names = [p.name for p in provinces()] + [_("I do not know")]
        return _("In which province? Reply with a number:\n%(options)s") % {"options": numbered(names)}
    if state == SmsConversation.State.DETAILS:
        return _(
            "In a few words, what happened? Add the app and the account name or link if you know them. Do not send photos. Send 0 to skip."
        )
    if state == SmsConversation.State.CALLBACK:
        return _("May a counsellor call you back on this number? Reply 1 for yes or 2 for no.")
    raise ValueError(f"no prompt for state {state!r}")


def invalid_reply(state: str) -> str:
    return _("Sorry, that is not one of the choices.") + " " + prompt_for(state)


def gave_up_reply() -> str:
    return _(
        "Sorry, we could not understand your answers. Send %(new)s to start again. In danger now? Call %(police)s or %(helpline)s."
    ) % {"new": pgettext("SMS keyword to start a report", "NEW"), **emergency_numbers()}


def done_reply(receipt: str) -> str:
    return _(
        "Thank you, we have received your report. Your receipt is %(receipt)s. Keep it safe and private: send %(keyword)s %(receipt)s to follow your report. In danger now? Call %(police)s or %(helpline)s."
    ) % {"receipt": receipts.display(receipt), "keyword": status_keyword(), **emergency_numbers()}


def idle_reply() -> str:
    return _(
        "Send %(new)s to make a report, or %(keyword)s and your receipt to follow one. In danger now? Call %(police)s or %(helpline)s."
    ) % {
        "new": pgettext("SMS keyword to start a report", "NEW"),
        "keyword": status_keyword(),
        **emergency_numbers(),
    }


def stop_reply() -> str:
    return _(
        "The conversation has ended and nothing you sent is kept as a report. Send %(new)s to start again."
    ) % {"new": pgettext("SMS keyword to start a report", "NEW")}


def help_reply() -> str:
    return (
        _("Help now: police %(police)s, Linha Fala Crianca child helpline %(helpline)s (free, 24 hours).")
        % emergency_numbers()
    )


def status_unknown_reply() -> str:
    return _("We found no report with that receipt. Check the 16 digits and try again.")


def status_limited_reply() -> str:
    return _("Too many receipt checks from this number. Please try again in an hour.")


def status_reply(status_text: str, messages: list[str]) -> str:
    text = status_text
    for message in messages:
        text += "\n" + _("Message from your case worker: %(message)s") % {"message": message}
    return text


def sms_text(text: str) -> str:
    """A reply as it is sent: folded into GSM-7 and cut to three parts."""
    return gsm.fit(gsm.fold(text), MAX_REPLY_PARTS)


# ---------------------------------------------------------------------------
# The conversation


def routing_agency(channel: Channel) -> Agency:
    if channel.routing_agency_id and channel.routing_agency.active:
        return channel.routing_agency
    return Agency.objects.get(code=DEFAULT_AGENCY)


def _offered(channel: Channel, language: str) -> bool:
    return not channel.languages or language in channel.languages


class _Conversation:
    """One step of a conversation, inside the transaction of `receive`."""

    def __init__(self, channel: Channel, conv: SmsConversation, incoming: Incoming, phone_norm: str) -> None:
        self.channel = channel
        self.conv = conv
        self.incoming = incoming
        self.phone_norm = phone_norm
        self.actor = audit.Actor(channel=f"sms:{channel.pk}")
        self.report_created = False

    def reset(self) -> None:
        self.conv.state = SmsConversation.State.IDLE
        self.conv.answers = {}
        self.conv.narrative = ""

    def step(self, text: str) -> str:
        words = keyword_form(text).split(" ")
        head = words[0] if words else ""
        hooked = self.hooked(text, words)
        if hooked is not None:
            return hooked
        if len(words) == 1 and head in LANGUAGE_KEYWORDS and _offered(self.channel, LANGUAGE_KEYWORDS[head]):
            self.conv.language = LANGUAGE_KEYWORDS[head]
            translation.activate(self.conv.language)
            if self.conv.state == SmsConversation.State.IDLE:
                self.conv.state = SmsConversation.State.WHAT
            return prompt_for(self.conv.state)
        if head in STATUS_KEYWORDS and len(words) > 1:
            return self.check_status(" ".join(words[1:]))
        if len(words) == 1 and head in STOP_KEYWORDS:
            self.reset()
            return stop_reply()
        if len(words) == 1 and head in HELP_KEYWORDS:
            return help_reply()
        if len(words) == 1 and head in NEW_KEYWORDS:
            self.reset()
            self.conv.state = SmsConversation.State.WHAT
            return prompt_for(self.conv.state)
        return self.answer(text)

    def hooked(self, text: str, words: list[str]) -> str | None:
        """A reply from another app's keyword or pending exchange (amparo.intake.hooks), if one claims it."""
        ctx = hooks.SmsContext(
            channel=self.channel,
            phone=self.incoming.phone,
            phone_norm=self.phone_norm,
            text=text,
            words=tuple(w for w in words if w),
            language=self.conv.language,
            conversation_idle=self.conv.state == SmsConversation.State.IDLE,
            actor=self.actor,
        )
        answer = hooks.handle_sms(ctx)
        if answer is None:
            return None
        if answer.end_conversation:
            self.reset()
        return answer.reply

    def check_status(self, receipt_text: str) -> str:
        if not ratelimit.check_and_consume(
            "sms:receipt",
            f"{self.channel.pk}:{self.phone_norm}",
            rate=RECEIPT_CHECKS_PER_HOUR,
            per_seconds=3600,
        ):
            return status_limited_reply()
        from amparo.intake import actions  # the reports engineer's module imports ours indirectly

        view = actions.reporter_status(receipt_text, actor=self.actor)
        if view is None:
            return status_unknown_reply()
        return status_reply(view.status_text, [text for text, _at in view.messages])

    def invalid(self) -> str:
        answers = dict(self.conv.answers)
        answers["invalid"] = answers.get("invalid", 0) + 1
        if answers["invalid"] >= 2:
            self.reset()
            return gave_up_reply()
        self.conv.answers = answers
        return invalid_reply(self.conv.state)

    def advance(self, key: str, value: object, next_state: str) -> str:
        answers = dict(self.conv.answers)
        answers[key] = value
        answers["invalid"] = 0
        self.conv.answers = answers
        self.conv.state = next_state
        return prompt_for(next_state)

    def answer(self, text: str) -> str:
        state = self.conv.state
        states = SmsConversation.State
        if state == states.IDLE:
            if len(text.strip()) >= 15:  # a first message that already says something is kept as details
                self.conv.narrative = text.strip()[:MAX_DETAILS_CHARS]
            self.conv.state = states.WHAT
            return prompt_for(states.WHAT)
        if state == states.WHAT:
            n = choice(text, len(WHAT_CHOICES))
            return (
                self.invalid() if n is None else self.advance("form", str(WHAT_CHOICES[n - 1][0]), states.WHO)
            )
        if state == states.WHO:
            n = choice(text, len(WHO_CHOICES))
            return (
                self.invalid()
                if n is None
                else self.advance("who", str(WHO_CHOICES[n - 1][0]), states.PROVINCE)
            )
        if state == states.PROVINCE:
            options = provinces()
            n = choice(text, len(options) + 1)
            if n is None:
                return self.invalid()
            code = options[n - 1].code if n <= len(options) else ""
            return self.advance("province", code, states.DETAILS)
        if state == states.DETAILS:
            if text.strip() != "0":
                self.add_details(text)
            return self.advance("details", True, states.CALLBACK)
        if state == states.CALLBACK:
            n = choice(text, 2)
            if n is None:
                return self.invalid()
            return self.submit(callback=n == 1)
        raise ValueError(f"unknown conversation state {state!r}")

    def add_details(self, text: str) -> None:
        joined = f"{self.conv.narrative}\n{text.strip()}" if self.conv.narrative else text.strip()
        self.conv.narrative = joined[:MAX_DETAILS_CHARS]

    def submit(self, *, callback: bool) -> str:
        from amparo.intake import actions

        answers = self.conv.answers
        province = Province.objects.filter(code=answers.get("province") or "").first()
        submitted = actions.submit_public_report(
            self.actor,
            channel_kind="sms",
            owning_agency=routing_agency(self.channel),
            forms=[answers.get("form", Form.OTHER)],
            platforms=[],
            who_affected=answers.get("who", WhoAffected.UNKNOWN),
            province=province,
            district=None,
            narrative=self.conv.narrative,
            callback_phone=self.incoming.phone if callback else "",
            callback_consented=callback,
            language=self.conv.language,
        )
        self.report_created = True
        self.reset()
        return done_reply(submitted.receipt)


def phone_indexes(phone_norm: str) -> tuple[str, list[str]]:
    """The blind index of a normalised number under the active index key, and every index it may have
    while an index-key rotation is under way (active first), from one read of the index keys. Call it
    inside the transaction that stores the index (as `crypto.blind_index` requires)."""
    crypto.lock_index_key()
    rows = list(
        DataKey.objects.filter(purpose=DataKey.Purpose.INDEX, retired_at__isnull=True)
        .order_by("-active", "-pk")
        .values_list("pk", "active")
    )
    if not rows or not rows[0][1]:  # no index key yet: let crypto create it
        return crypto.blind_index(phone_norm), crypto.blind_index_candidates(phone_norm)
    candidates = [envelope.blind_index(crypto.data_key(pk), phone_norm) for pk, _active in rows]
    return candidates[0], candidates


def _lock_conversation(channel: Channel, phone_norm: str) -> SmsConversation:
    index, candidates = phone_indexes(phone_norm)
    conv = (
        SmsConversation.objects.select_for_update()
        .filter(channel=channel, phone_index__in=candidates)
        .first()
    )
    if conv is not None:
        return conv
    try:
        with transaction.atomic():
            return SmsConversation.objects.create(channel=channel, phone_index=index)
    except IntegrityError:  # a concurrent first message of the same phone created it
        return SmsConversation.objects.select_for_update().get(channel=channel, phone_index__in=candidates)


def _store(channel: Channel, incoming: Incoming) -> InboundMessage:
    """Insert the message as delivered (a repeated provider id fails here, on the unique constraint)."""
    return InboundMessage.objects.create(
        channel=channel,
        provider_message_id=incoming.provider_message_id,
        # The phone's index now, so that the worker finds this phone's older unprocessed messages first.
        phone_index=crypto.blind_index(normalise.phone(incoming.phone)),
        sender=incoming.phone,
        text=incoming.text,
        link_id=incoming.link_id,
        sent_at=incoming.sent_at,
    )


def _duplicate(channel: Channel, incoming: Incoming) -> bool:
    return InboundMessage.objects.filter(
        channel=channel, provider_message_id=incoming.provider_message_id
    ).exists()


def accept(channel: Channel, incoming: Incoming) -> bool:
    """Store one inbound SMS and queue its processing (`tasks.process_sms`), in one transaction; return
    False for a provider id already stored (nothing is stored or queued again).

    This is all the webhook does before it answers: once this returns, the message is durable, and the
    worker (or, if its task was lost, the periodic `tasks.process_pending_sms`) moves the conversation on
    and queues the reply. With the database queue the task row commits with the message; with the
    immediate backend (tests, tools) the message is processed inside this transaction."""
    try:
        with transaction.atomic():
            message = _store(channel, incoming)
            tasks.enqueue_process(message.pk)
    except IntegrityError:
        if _duplicate(channel, incoming):
            return False
        raise
    return True


def receive(channel: Channel, incoming: Incoming) -> Outcome:
    """Store one inbound SMS and process it at once, in one transaction (for callers that need the reply
    now: tests and tools; the webhook uses `accept`)."""
    try:
        with transaction.atomic(), audit.batch():
            return _advance(_store(channel, incoming))
    except IntegrityError:
        if _duplicate(channel, incoming):
            return Outcome(duplicate=True)
        raise


def process(message_id: int) -> Outcome | None:
    """Move the conversation on with one stored message and queue the reply, in one transaction; None if
    the message is unknown or already processed (a repeated task does nothing).

    One phone's messages are handled strictly in the order they were received: a message is never handled
    while an older one of the same phone and channel is unprocessed (its task lost with a dead worker,
    or still queued behind): the older ones are handled first, here, in the same transaction. Every
    processor locks the conversation before any message row, so two workers cannot deadlock on them."""
    with transaction.atomic(), audit.batch():
        message = (
            InboundMessage.objects.select_related("channel", "channel__routing_agency")
            .filter(pk=message_id, processed_at__isnull=True)
            .first()
        )
        if message is None:
            return None
        if not message.phone_index:  # stored before messages carried their phone's index at once
            return _advance_locked(message_id)
        phone_norm = normalise.phone(message.sender)
        _lock_conversation(message.channel, phone_norm)  # serialises every processor of this phone
        _index, candidates = phone_indexes(phone_norm)
        waiting = (
            InboundMessage.objects.select_for_update(of=("self",))
            .select_related("channel", "channel__routing_agency")
            .filter(channel=message.channel, phone_index__in=candidates, processed_at__isnull=True)
            .filter(
                Q(received_at__lt=message.received_at)
                | Q(received_at=message.received_at, pk__lte=message.pk)
            )
            .order_by("received_at", "pk")
        )
        outcome = None
        for older in waiting:
            if older.pk == message.pk:  # the last one
                outcome = _advance(older)
                break
            try:
                with transaction.atomic():  # a savepoint: an older message that cannot be processed (a
                    _advance(older)  # bug) must not hold this phone's conversation up for ever
            except Exception:
                logger.exception("sms.process_failed message=%s (before message %s)", older.pk, message.pk)
            else:
                logger.info("sms.processed_in_order message=%s before=%s", older.pk, message.pk)
        return outcome


def _advance_locked(message_id: int) -> Outcome | None:
    message = (
        InboundMessage.objects.select_for_update(of=("self",))
        .select_related("channel", "channel__routing_agency")
        .filter(pk=message_id, processed_at__isnull=True)
        .first()
    )
    return None if message is None else _advance(message)


def _advance(message: InboundMessage) -> Outcome:
    """The conversation step of a stored, unprocessed message (inside the caller's transaction): the
    message gets its phone index and conversation, loses the sender's number, and is marked processed."""
    channel = message.channel
    incoming = Incoming(
        provider_message_id=message.provider_message_id,
        phone=message.sender,
        text=message.text,
        sent_at=message.sent_at,
        link_id=message.link_id,
    )
    phone_norm = normalise.phone(incoming.phone)
    conv = _lock_conversation(channel, phone_norm)  # serialises messages of one phone
    late = bool(incoming.sent_at and conv.last_message_at and incoming.sent_at < conv.last_message_at)
    actor = audit.Actor(channel=f"sms:{channel.pk}")
    step = _Conversation(channel, conv, incoming, phone_norm)
    reply = None
    with translation.override(conv.language):
        if late:
            # Out of order: the conversation does not move, but another app's keyword still counts
            # (a late PARAR must still stop an awareness subscription).
            reply = step.hooked(incoming.text, keyword_form(incoming.text).split(" "))
            if reply is None and conv.state == SmsConversation.State.DETAILS and incoming.text.strip():
                step.add_details(incoming.text)
        else:
            try:
                reply = step.step(incoming.text)
            except ValidationError:
                step.reset()
                reply = gave_up_reply()
            conv.last_message_at = incoming.sent_at or timezone.now()
    conv.save()
    message.phone_index = conv.phone_index
    message.conversation = conv
    message.late = late
    message.processed_at = timezone.now()
    message.sender = ""  # the number was needed only for this step (a reply, a consented call-back)
    message.save(update_fields=["phone_index", "conversation", "late", "processed_at", "sender"])
    # The audit entries are appended together when the batch ends, just before the commit, so the chain
    # head is locked only briefly. One entry covers the message and the conversation step it made (the
    # conversation is this action's state); the queued reply and any report have their own.
    sent = None
    if reply is not None:
        sent = queue_reply(actor, channel, message, incoming.phone, conv.phone_index, reply).text
    fields = [
        "text",
        "phone_index",
        "conversation.state",
        "conversation.answers",
        "conversation.narrative",
    ]
    audit.record(actor, ChannelAudit.SMS_RECEIVE, message, fields)
    return Outcome(duplicate=False, reply=sent, report_created=step.report_created)


def queue_reply(
    actor: audit.Actor,
    channel: Channel,
    in_reply_to: InboundMessage | None,
    phone: str,
    phone_index: str,
    text: str,
) -> OutboundMessage:
    """Queue an SMS (sent by `tasks.send_sms` after the transaction commits)."""
    body = sms_text(text)
    seg = gsm.segment(body)
    out = OutboundMessage.objects.create(
        channel=channel,
        in_reply_to=in_reply_to,
        recipient=phone,
        phone_index=phone_index,
        text=body,
        encoding=seg.encoding,
        parts=seg.parts,
    )
    audit.record(actor, ChannelAudit.SMS_QUEUE, out, ["recipient", "text"])
    tasks.enqueue_send(str(out.pk))
    return out


# Africa's Talking delivery statuses and what they mean for an outgoing message.
DELIVERY_STATUS = {
    "success": "delivered",
    "sent": "sent",
    "submitted": "sent",
    "buffered": "sent",
    "failed": "failed",
    "rejected": "failed",
    "expired": "failed",
}


def delivery_report(
    channel: Channel, provider_message_id: str, status: str, failure_reason: str = ""
) -> bool:
    """Apply a provider's delivery report; False (and nothing written) for an id we never sent or an
    unknown status. A final status erases the recipient's number."""
    new_status = DELIVERY_STATUS.get(status.strip().lower())
    if new_status is None or not provider_message_id:
        return False
    with transaction.atomic():
        out = (
            OutboundMessage.objects.select_for_update()
            .filter(channel=channel, provider_message_id=provider_message_id)
            .first()
        )
        if out is None:
            return False
        if out.status in ("delivered", "failed") or out.status == new_status:
            return True  # final already, or a repeat: nothing changes
        out.status = new_status
        fields = ["status"]
        if new_status in ("delivered", "failed"):
            out.final_at = timezone.now()
            out.recipient = ""
            fields += ["final_at", "recipient"]
        if failure_reason:
            out.failure_reason = failure_reason[:100]
            fields.append("failure_reason")
        out.save(update_fields=fields)
        audit.record(audit.Actor(channel=f"sms:{channel.pk}"), ChannelAudit.SMS_DELIVERY, out, fields)
    return True
