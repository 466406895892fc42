"""The USSD menu (Africa's Talking format): a state machine kept per session in `UssdSession`.

Screens: language (each named in its own language) -> 1 Report abuse · 2 Get help now · 3 Check a report.
Reporting asks what happened, then whether a counsellor may call back (asked early on purpose: if the
session drops later, a consented call-back keeps the report as a partial one), who is affected, the
province and the district (paged lists), and ends with the receipt.

Operators differ in what `text` holds (every input so far joined by `*`, or only the newest), and free
text may itself contain `*`: the session keeps the previous `text` and takes the new input as the
difference. A repeat of the same request (the same `text` again) shows the same screen again without
consuming anything. Invalid input re-asks once, then the session ends politely.

Every response starts `CON ` or `END `, is folded to plain GSM-7 letters and holds at most 182 characters.

A session belongs to the channel and the phone that opened it: its row is found by (channel, `sessionId`),
and a request carrying that `sessionId` from another `phoneNumber` gets a neutral `END` and changes
nothing (logged with ids only), so that nobody can continue a stranger's session, read its receipt or put
their number on its report.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from amparo.core import audit, crypto
from amparo.core.models import District, Province
from amparo.intake import conf, gsm, hooks, ratelimit, receipts
from amparo.intake.models import Channel, ChannelAudit, UssdSession, WhoAffected
from amparo.intake.sms import RECEIPT_CHECKS_PER_HOUR, WHAT_CHOICES, WHO_CHOICES, choice, routing_agency
from amparo.lib import normalise

# Languages, each named in its own language (not translated).
LANGUAGE_NAMES = [
    ("pt", "Português"),
    ("en", "English"),
    ("vmw", "Emakhuwa"),
    ("ts", "Xichangana"),
    ("seh", "Cisena"),
    ("ny", "Cinyanja"),
]
logger = logging.getLogger(__name__)

NEXT_PAGE = "98"
PREVIOUS_PAGE = "0"
MAX_INPUT_CHARS = 200

S = UssdSession.State


@dataclass(frozen=True)
class Request:
    session_id: str
    service_code: str
    phone: str
    network_code: str
    text: str


def con(body: str) -> str:
    return gsm.fold_ussd("CON " + body)


def end(body: str) -> str:
    return gsm.fold_ussd("END " + body)


def languages_for(channel: Channel) -> list[tuple[str, str]]:
    offered = [item for item in LANGUAGE_NAMES if not channel.languages or item[0] in channel.languages]
    return offered or LANGUAGE_NAMES[:1]


def new_input(previous: str, text: str, cumulative: bool) -> str | None:
    """The reporter's newest input, or None when `text` repeats the previous request.

    Once a session has shown that its operator sends every input so far (`cumulative`), the same `text`
    again can only be a repeated request; from an operator that sends only the newest input it is the
    same answer typed again."""
    if cumulative and text == previous:
        return None
    if previous and text.startswith(previous + "*"):
        return text[len(previous) + 1 :]
    return text


# ---------------------------------------------------------------------------
# Paged lists


def page_of(labels: list[str], page: int, header: str) -> tuple[str, range, bool]:
    """The body of page `page` of a numbered list (numbers run on across pages), the item indexes it
    shows, and whether there is a next page. Items are added while the folded screen stays within 182."""
    footer_more = "\n" + NEXT_PAGE + " " + _("More")
    footer_back = "\n" + PREVIOUS_PAGE + " " + _("Back")
    budget = gsm.USSD_SCREEN_MAX - len("CON ")
    start = 0
    for _p in range(page):  # find where the requested page starts
        _body, shown, more = _fill(labels, start, header, budget, footer_more, footer_back, _p > 0)
        if not more:
            break
        start = shown.stop
    body, shown, more = _fill(labels, start, header, budget, footer_more, footer_back, page > 0)
    return body, shown, more


def _fill(
    labels: list[str], start: int, header: str, budget: int, more: str, back: str, has_back: bool
) -> tuple[str, range, bool]:
    lines = [header]
    reserve = len(gsm.fold(more)) + (len(gsm.fold(back)) if has_back else 0)
    stop = start
    while stop < len(labels):
        candidate = "\n".join([*lines, f"{stop + 1} {labels[stop]}"])
        needed = reserve if stop + 1 < len(labels) else (len(gsm.fold(back)) if has_back else 0)
        if len(gsm.fold_ussd(candidate)) + needed > budget and stop > start:
            break
        lines.append(f"{stop + 1} {labels[stop]}")
        stop += 1
    has_more = stop < len(labels)
    body = "\n".join(lines) + (more if has_more else "") + (back if has_back else "")
    return body, range(start, stop), has_more


# ---------------------------------------------------------------------------
# Screens (call inside translation.override)


def province_list() -> list[Province]:
    return list(Province.objects.order_by("name"))


def district_list(province_code: str) -> list[District]:
    return list(District.objects.filter(province_id=province_code).order_by("name"))


class _Machine:
    def __init__(self, channel: Channel, session: UssdSession, request: Request) -> None:
        self.channel = channel
        self.session = session
        self.request = request
        self.actor = audit.Actor(channel=f"ussd:{channel.pk}")

    # -- lists shown in the current state
    def labels(self) -> tuple[str, list[str]]:
        state = self.session.state
        if state == S.LANGUAGE:
            return "Amparo", [name for _code, name in languages_for(self.channel)]
        if state == S.MENU:
            return _("Amparo, confidential help."), [
                _("Report abuse"),
                _("Get help now"),
                _("Check a report"),
            ] + [str(entry.label) for entry in hooks.ussd_entries()]
        if state == S.WHAT:
            return _("What happened?"), [str(label) for _code, label in WHAT_CHOICES]
        if state == S.CALLBACK:
            return _("May a counsellor call you back on this number?"), [_("Yes"), _("No")]
        if state == S.WHO:
            return _("Who is affected?"), [str(label) for _code, label in WHO_CHOICES]
        if state == S.PROVINCE:
            return _("Which province?"), [p.name for p in province_list()] + [_("I do not know")]
        if state == S.DISTRICT:
            districts = district_list(self.session.answers.get("province", ""))
            return _("Which district?"), [d.name for d in districts] + [_("I do not know")]
        raise ValueError(f"no list in state {state!r}")

    def screen(self, prefix: str = "") -> str:
        if self.session.state == S.RECEIPT:
            return con(prefix + _("Enter your 16-digit receipt number:"))
        header, labels = self.labels()
        body, _shown, _more = page_of(labels, self.session.page, prefix + header)
        return con(body)

    # -- transitions
    def go(self, state: str, **answers: object) -> str:
        merged = dict(self.session.answers)
        merged.update(answers)
        self.session.answers = merged
        self.session.state = state
        self.session.page = 0
        self.session.invalid_count = 0
        return self.screen()

    def invalid(self) -> str:
        self.session.invalid_count += 1
        if self.session.invalid_count >= 2:
            self.close()
            return end(
                _(
                    "Sorry, we could not understand your answer. Please dial again. In danger now? Call 112 or 116."
                )
            )
        return self.screen(prefix=_("Invalid choice.") + " ")

    def close(self) -> None:
        self.session.closed = True
        self.session.callback_phone = ""
        self.session.state = S.DONE

    def pick(self, text: str) -> int | None:
        """A number on the current list (1-based), or None; paging inputs move the page and return 0."""
        header, labels = self.labels()
        _body, _shown, more = page_of(labels, self.session.page, header)
        stripped = text.strip()
        if stripped == NEXT_PAGE and more:
            self.session.page += 1
            return 0
        if stripped == PREVIOUS_PAGE and self.session.page > 0:
            self.session.page -= 1
            return 0
        return choice(text, len(labels))

    def handle(self, text: str) -> str:
        state = self.session.state
        if self.session.answers.get("hook"):
            return self.hooked(text)
        if state == S.RECEIPT:
            return self.check_receipt(text)
        n = self.pick(text)
        if n is None:
            return self.invalid()
        if n == 0:
            return self.screen()
        if state == S.LANGUAGE:
            self.session.language = languages_for(self.channel)[n - 1][0]
            translation.activate(self.session.language)
            return self.go(S.MENU)
        if state == S.MENU:
            if n == 1:
                return self.go(S.WHAT)
            if n == 2:
                self.close()
                return end(
                    _(
                        "In danger now? Call the police on 112. Linha Fala Crianca child helpline: 116, free, day and night. They will tell you the nearest service."
                    )
                )
            if n > 3:  # an option another app added (amparo.intake.hooks)
                self.session.answers = {**self.session.answers, "hook": hooks.ussd_entries()[n - 4].key}
                return self.hooked(None)
            return self.go(S.RECEIPT)
        if state == S.WHAT:
            return self.go(S.CALLBACK, form=str(WHAT_CHOICES[n - 1][0]))
        if state == S.CALLBACK:
            consent = n == 1
            self.session.callback_phone = self.request.phone if consent else ""
            return self.go(S.WHO, callback=consent)
        if state == S.WHO:
            return self.go(S.PROVINCE, who=str(WHO_CHOICES[n - 1][0]))
        if state == S.PROVINCE:
            options = province_list()
            if n > len(options):
                return self.submit(province="", district="")
            return self.go(S.DISTRICT, province=options[n - 1].code)
        if state == S.DISTRICT:
            options = district_list(self.session.answers.get("province", ""))
            return self.submit(
                province=self.session.answers.get("province", ""),
                district=options[n - 1].code if n <= len(options) else "",
            )
        raise ValueError(f"unknown USSD state {state!r}")

    def hooked(self, text: str | None) -> str:
        """Hand the session to the app whose menu option was chosen, until it ends the session."""
        entry = hooks.ussd_entry(self.session.answers.get("hook", ""))
        if entry is None:
            self.close()
            return end(_("This session has ended. Please dial again."))
        screen = entry.handler(
            hooks.UssdContext(
                channel=self.channel,
                phone=self.request.phone,
                language=self.session.language,
                text=text,
                state=dict(self.session.answers.get("hook_state") or {}),
                actor=self.actor,
            )
        )
        self.session.answers = {**self.session.answers, "hook_state": screen.state}
        if screen.end:
            self.close()
            return end(screen.text)
        return con(screen.text)

    def check_receipt(self, text: str) -> str:
        phone = normalise.phone(self.request.phone)
        if not ratelimit.check_and_consume(
            "ussd:receipt", f"{self.channel.pk}:{phone}", rate=RECEIPT_CHECKS_PER_HOUR, per_seconds=3600
        ):
            self.close()
            return end(_("Too many receipt checks from this number. Please try again in an hour."))
        typed = text.replace("*", "")  # a reporter may type stars between the groups of digits
        if receipts.normalise(typed) is None:
            return self.invalid()
        from amparo.intake import actions

        view = actions.reporter_status(typed, actor=self.actor)
        self.close()
        if view is None:
            return end(_("We found no report with that receipt. Check the 16 digits and try again."))
        body = view.status_text
        for message, _at in view.messages:
            body += "\n" + _("Message from your case worker: %(message)s") % {"message": message}
        return end(body)

    def submit(self, *, province: str, district: str, partial: bool = False) -> str:
        receipt = submit_session(
            self.channel, self.session, province=province, district=district, partial=partial
        )
        self.close()
        return end(
            _(
                "Thank you. Your receipt is %(receipt)s. Write it down and keep it private. Check it with option 3. In danger: 112 or 116."
            )
            % {"receipt": receipts.display(receipt)}
        )


def submit_session(
    channel: Channel, session: UssdSession, *, province: str, district: str, partial: bool
) -> str:
    """Create the report of a session (complete, or partial for call-back); return its receipt."""
    from amparo.intake import actions

    answers = session.answers
    consent = bool(answers.get("callback"))
    submitted = actions.submit_public_report(
        audit.Actor(channel=f"ussd:{channel.pk}"),
        channel_kind="ussd",
        owning_agency=routing_agency(channel),
        forms=[answers.get("form", "other")],
        platforms=[],
        who_affected=answers.get("who", WhoAffected.UNKNOWN),
        province=Province.objects.filter(code=province).first() if province else None,
        district=District.objects.filter(code=district, province_id=province).first() if district else None,
        callback_phone=session.callback_phone if consent else "",
        callback_consented=consent,
        language=session.language,
        partial=partial,
    )
    session.report_submitted = True
    return submitted.receipt


def _lock_session(channel: Channel, request: Request) -> tuple[UssdSession, bool]:
    session = (
        UssdSession.objects.select_for_update().filter(channel=channel, session_id=request.session_id).first()
    )
    if session is not None:
        return session, False
    try:
        with transaction.atomic():
            created = UssdSession.objects.create(
                channel=channel,
                session_id=request.session_id,
                phone_index=crypto.blind_index(normalise.phone(request.phone)),
            )
            return created, True
    except IntegrityError:
        return UssdSession.objects.select_for_update().get(
            channel=channel, session_id=request.session_id
        ), False


def _same_phone(session: UssdSession, request: Request) -> bool:
    """Whether `request` comes from the phone that opened `session` (any live index key: a rotation of
    the index key may be under way)."""
    return session.phone_index in crypto.blind_index_candidates(normalise.phone(request.phone))


def respond(channel: Channel, request: Request) -> str:
    """The screen answering one USSD request; the session's new state commits before it is returned."""
    with transaction.atomic():
        session, created = _lock_session(channel, request)
        if not created and not _same_phone(session, request):
            logger.warning("intake.ussd_phone_mismatch channel=%s session=%s", channel.pk, session.pk)
            with translation.override(session.language):
                return end(_("This session has ended. Please dial again."))
        actor = audit.Actor(channel=f"ussd:{channel.pk}")
        if session.closed:
            with translation.override(session.language):
                return end(_("This session has ended. Please dial again."))
        machine = _Machine(channel, session, request)
        with translation.override(session.language):
            previous = session.previous_text
            if previous and request.text.startswith(previous + "*"):
                session.answers = {**session.answers, "cumulative": True}
            typed = new_input(previous, request.text, bool(session.answers.get("cumulative")))
            if (created and not request.text) or typed is None:
                screen = machine.screen()
            else:
                try:
                    screen = machine.handle(typed[:MAX_INPUT_CHARS])
                except ValidationError:
                    machine.close()
                    screen = end(
                        _("Sorry, something went wrong. Please dial again. In danger now? Call 112 or 116.")
                    )
            session.previous_text = request.text
        session.save()
        audit.record(
            actor,
            ChannelAudit.USSD_CLOSE if session.closed else ChannelAudit.USSD_ANSWER,
            session,
            ["state", "answers", "previous_text", "language"]
            + (["callback_phone"] if session.callback_phone else []),
        )
        return screen


def expire_stale_sessions(now: dt.datetime | None = None) -> int:
    """Close every open session idle for longer than `AMPARO_USSD_SESSION_TIMEOUT`. A session that got
    as far as what happened, with call-back consented, becomes a partial report; any other is dropped.
    Returns the number of sessions closed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=conf.ussd_session_timeout())
    ids = list(
        UssdSession.objects.filter(closed=False, updated_at__lt=cutoff).values_list("pk", flat=True)[:1000]
    )
    closed = 0
    for pk in ids:
        with transaction.atomic():
            session = (
                UssdSession.objects.select_for_update()
                .select_related("channel")
                .filter(pk=pk, closed=False)
                .first()
            )
            if session is None:
                continue
            actor = audit.Actor.system("intake:ussd_expiry")
            fields = ["closed", "state"]
            if (
                session.answers.get("form")
                and session.answers.get("callback")
                and not session.report_submitted
            ):
                submit_session(
                    session.channel,
                    session,
                    province=session.answers.get("province", ""),
                    district="",
                    partial=True,
                )
                fields.append("report_submitted")
            session.closed = True
            session.state = S.DONE
            session.callback_phone = ""
            session.save()
            audit.record(actor, ChannelAudit.USSD_CLOSE, session, fields)
            closed += 1
    return closed
