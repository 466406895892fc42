"""The "Learn to stay safe" option of the USSD menu (registered with amparo.intake.hooks).

Who are you? (audience) -> one approved USSD tip for that audience, in the session's language (or
Portuguese) -> 1 tips by SMS every week (subscribes the number on the campaigns' SMS channel) or
2 exit. Screens are folded and cut to 182 characters by intake.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.core import crypto
from amparo.core.emergency import emergency_numbers
from amparo.intake.hooks import UssdContext, UssdHookScreen
from amparo.intake.models import Channel, ChannelKind
from amparo.lib import normalise
from amparo.outreach import actions, conf, keywords
from amparo.outreach.models import Audience, Format, SubscriberState
from amparo.outreach.subscriptions import AUDIENCE_CHOICES, find

MENU_LABEL = gettext_lazy("Learn to stay safe")


def sms_channel() -> Channel | None:
    """The SMS channel that sends the series: AMPARO_OUTREACH_SMS_CHANNEL, else the oldest active one."""
    qs = Channel.objects.filter(kind=ChannelKind.SMS, active=True)
    wanted = conf.sms_channel_id()
    if wanted:
        return qs.filter(Q(pk=wanted)).first()
    return qs.order_by("created_at").first()


def tip_for(audience: str, language: str) -> str:
    found = actions.published_in(Format.USSD_TIP, language, audience=audience)
    return found[0].body if found else ""


def handle(ctx: UssdContext) -> UssdHookScreen:
    with translation.override(ctx.language):
        step = ctx.state.get("step")
        if ctx.text is None or step is None:
            return _audience_screen()
        if step == "audience":
            n = keywords.number(ctx.text)
            if n is None or not 1 <= n <= len(AUDIENCE_CHOICES):
                return _invalid(ctx, _audience_screen())
            audience = str(AUDIENCE_CHOICES[n - 1][0])
            tip = tip_for(audience, ctx.language)
            body = (tip + "\n" if tip else "") + "1 " + _("Tips by SMS every week") + "\n2 " + _("Exit")
            return UssdHookScreen(body, state={"step": "offer", "audience": audience})
        if step == "offer":
            n = keywords.number(ctx.text)
            if n == 1:
                return _subscribe(ctx, ctx.state.get("audience", ""))
            if n == 2:
                return UssdHookScreen(
                    _("Stay safe online. In danger now? Call %(police)s or %(helpline)s (free).")
                    % emergency_numbers(),
                    end=True,
                )
            return _invalid(
                ctx, UssdHookScreen("1 " + _("Tips by SMS every week") + "\n2 " + _("Exit"), state=ctx.state)
            )
        return UssdHookScreen(_("This session has ended. Please dial again."), end=True)


def _audience_screen() -> UssdHookScreen:
    lines = [_("Who are you?")] + [f"{i} {label}" for i, (_c, label) in enumerate(AUDIENCE_CHOICES, start=1)]
    return UssdHookScreen("\n".join(lines), state={"step": "audience"})


def _invalid(ctx: UssdContext, again: UssdHookScreen) -> UssdHookScreen:
    if ctx.state.get("invalid"):
        return UssdHookScreen(_("Sorry, we could not understand your answer. Please dial again."), end=True)
    return UssdHookScreen(_("Invalid choice.") + " " + again.text, state={**again.state, "invalid": 1})


def _subscribe(ctx: UssdContext, audience: str) -> UssdHookScreen:
    if audience not in Audience.values:  # a session state from an older menu: start again
        return UssdHookScreen(_("This session has ended. Please dial again."), end=True)
    channel = sms_channel()
    if channel is None:
        return UssdHookScreen(_("Tips by SMS are not available yet. Please try again later."), end=True)
    phone_norm = normalise.phone(ctx.phone)
    existing = find(channel, phone_norm)
    index = existing.phone_index if existing and existing.phone_index else crypto.blind_index(phone_norm)
    sub = actions.start_subscription(ctx.actor, channel, ctx.phone, index, language=ctx.language)
    actions.update_subscription(ctx.actor, sub, audience=audience, state=SubscriberState.ACTIVE)
    return UssdHookScreen(
        _("Done. A tip will come by SMS every week. Send STOP to %(number)s to stop.")
        % {"number": channel.short_code or "Amparo"},
        end=True,
    )
