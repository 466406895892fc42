"""Forms of the public report (one form per step), the follow-up page, and the staff intake pages.

The public steps carry what was already answered in one hidden field (`state`), never in the URL and
never on the server until the last step is sent. The field is encrypted and authenticated (AES-256-GCM
under a key derived from the secret key with HKDF): the page holds no readable answer (an offender's
account name typed two steps earlier stays unreadable to whoever sees the page source or a proxy log of
the body), and an altered or stale field starts the form again.
"""

from __future__ import annotations

import time
from typing import Any

from django import forms as dj
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from amparo.cases.models import ConsentAnswer, LegalBasis, ShareableField
from amparo.cases.taxonomy import Form, Platform
from amparo.core.models import Agency, District, Province
from amparo.intake import actions, receipts
from amparo.intake.models import ActionTaken, CallerType, WhoAffected
from amparo.lib import envelope

STATE_PURPOSE = "amparo.intake.report.state"
STATE_MAX_AGE = 4 * 60 * 60  # a child may take a while; after that the form starts again

# The taxonomy in plain words, one wording for each answer to "who is this about?" (codes stay the
# case's codes). The most common answers in the research come first; the rest sit behind "More choices".
FORMS_FOR_ME: list[tuple[str, Any]] = [
    (
        Form.SEXTORTION,
        _("Someone threatens to share pictures of me unless I send more, pay, or do what they say."),
    ),
    (Form.GROOMING, _("Someone online is too friendly, asks me to keep secrets, or wants to meet me.")),
    (Form.OFFER_FOR_IMAGES, _("Someone offered me money, phone credit or gifts for pictures or to meet.")),
    (Form.UNWANTED_EXPOSURE, _("Someone sent me sexual pictures or videos I did not want.")),
    (Form.NONCONSENSUAL_SHARING, _("Private pictures of me were shared without my permission.")),
    (Form.HARASSMENT, _("Someone sends me sexual messages or comments that upset me.")),
    (Form.LIVE_STREAMING, _("Someone made me do sexual things on a live video call.")),
    (Form.TRAFFICKING, _("Someone online is trying to take me away or sell me.")),
    (Form.OTHER, _("Something else that worried me.")),
]
FORMS_FOR_CHILD: list[tuple[str, Any]] = [
    (
        Form.SEXTORTION,
        _("Someone threatens to share pictures of the child unless the child sends more, pays, or obeys."),
    ),
    (Form.GROOMING, _("Someone online is too friendly with the child, asks for secrets, or wants to meet.")),
    (
        Form.OFFER_FOR_IMAGES,
        _("Someone offered the child money, phone credit or gifts for pictures or to meet."),
    ),
    (Form.UNWANTED_EXPOSURE, _("Someone sent the child sexual pictures or videos.")),
    (Form.NONCONSENSUAL_SHARING, _("Private pictures of the child were shared without permission.")),
    (Form.HARASSMENT, _("Someone sends the child sexual messages or comments.")),
    (Form.LIVE_STREAMING, _("The child was abused on a live video call or stream.")),
    (Form.TRAFFICKING, _("Someone online is trying to take the child away or sell the child.")),
    (Form.OTHER, _("Something else that worries me.")),
]
FORMS_FOR_FOUND: list[tuple[str, Any]] = [
    (Form.CSAM_DISTRIBUTION, _("Sexual pictures or videos of a child.")),
    (Form.OFFER_FOR_IMAGES, _("Someone selling or asking for sexual pictures of children.")),
    (Form.GROOMING, _("An adult trying to get close to a child, asking for secrets or to meet.")),
    (Form.LIVE_STREAMING, _("A child abused on a live video or stream.")),
    (Form.TRAFFICKING, _("Someone offering children, or trying to take a child away.")),
    (Form.OTHER, _("Something else that worried me.")),
]
FORMS_FOR = {
    WhoAffected.ME: FORMS_FOR_ME,
    WhoAffected.CHILD_I_KNOW: FORMS_FOR_CHILD,
    WhoAffected.CONTENT_FOUND: FORMS_FOR_FOUND,
}
# Every form a public reporter can choose (whatever they answered first).
PUBLIC_FORMS: list[tuple[str, Any]] = list(
    {code: label for wording in FORMS_FOR.values() for code, label in wording}.items()
)
FORMS_SHOWN_FIRST = 5
# The apps most children in Mozambique use (Disrupting Harm): shown first, the others behind "More".
COMMON_PLATFORMS = (
    Platform.FACEBOOK,
    Platform.MESSENGER,
    Platform.WHATSAPP,
    Platform.INSTAGRAM,
    Platform.TIKTOK,
)

WHEN_CHOICES = [
    ("today", _("Today")),
    ("week", _("This week")),
    ("month", _("This month")),
    ("year", _("This year")),
    ("older", _("More than a year ago")),
    ("unknown", _("I do not know")),
]

PUBLIC_WHO = [
    (WhoAffected.ME, _("It is happening to me")),
    (WhoAffected.CHILD_I_KNOW, _("It is happening to a child I know")),
    (WhoAffected.CONTENT_FOUND, _("I found something online")),
]
YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def _state_keys() -> list[bytes]:
    """The key sealing new state fields, then those of SECRET_KEY_FALLBACKS (a form begun before the
    secret key was rotated can still be finished)."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [envelope.derive_key(secret, STATE_PURPOSE) for secret in secrets]


def dump_state(state: dict[str, Any]) -> str:
    return envelope.seal_token(_state_keys()[0], state, STATE_PURPOSE, int(time.time()))


def load_state(token: str) -> dict[str, Any] | None:
    """The answers carried so far, or None if the field was altered, made elsewhere or is too old."""
    if not token:
        return {}
    state = envelope.open_token(_state_keys(), token, STATE_PURPOSE, int(time.time()), STATE_MAX_AGE)
    return state if isinstance(state, dict) else None


# Districts change only with a migration: the grouped list is read once per process every few minutes.
_DISTRICTS_SECONDS = 300.0
_districts: list[tuple[list[tuple[str, list[tuple[str, str]]]], float]] = []


def forget_districts() -> None:
    _districts.clear()


def _districts_grouped() -> list[tuple[str, list[tuple[str, str]]]]:
    now = time.monotonic()
    if not _districts or _districts[0][1] <= now:
        grouped: dict[str, list[tuple[str, str]]] = {}
        for code, name, province in District.objects.values_list("code", "name", "province__name").order_by(
            "province_id", "name"
        ):
            grouped.setdefault(province, []).append((code, name))
        _districts[:] = [(list(grouped.items()), now + _DISTRICTS_SECONDS)]
    return [("", [("", _("I do not know"))]), *_districts[0][0]]


# The anti-spam field: out of sight, out of the tab order, never filled in by the browser.
HONEYPOT = dj.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"})


class WhoStep(dj.Form):
    who_affected = dj.ChoiceField(label=_("Who is this about?"), choices=PUBLIC_WHO, widget=dj.RadioSelect)
    immediate_danger = dj.ChoiceField(
        label=_("Is a child in danger right now?"), choices=YES_NO, widget=dj.RadioSelect
    )


class WhatStep(dj.Form):
    """What happened and where, worded for the reporter's answer to "who is this about?" (`who`)."""

    forms = dj.MultipleChoiceField(
        label=_("What happened? Choose all that fit."),
        choices=PUBLIC_FORMS,
        widget=dj.CheckboxSelectMultiple,
    )
    platforms = dj.MultipleChoiceField(
        label=_("Where did it happen?"),
        choices=Platform.choices,
        widget=dj.CheckboxSelectMultiple,
        required=False,
    )
    link_or_account = dj.CharField(
        label=_("Link or account name, if you know it"),
        help_text=_("For example the profile link or the @name. Send the link, not the pictures."),
        max_length=actions.MAX_LINK_CHARS,
        required=False,
    )
    incident_when = dj.ChoiceField(label=_("When did it happen?"), choices=WHEN_CHOICES, initial="unknown")

    def __init__(self, *args: Any, who: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wording = FORMS_FOR.get(who or "", FORMS_FOR_ME)
        forms_field, platforms = self.fields["forms"], self.fields["platforms"]
        forms_field.choices = wording
        if who == WhoAffected.CONTENT_FOUND:
            forms_field.label = _("What did you find? Choose all that fit.")
            platforms.label = _("Where did you find it?")
            self.fields["incident_when"].label = _("When did you see it?")
        common = [c for c in Platform.choices if c[0] in COMMON_PLATFORMS]
        platforms.choices = common + [c for c in Platform.choices if c[0] not in COMMON_PLATFORMS]
        _show_first(self, "forms", FORMS_SHOWN_FIRST)
        _show_first(self, "platforms", len(common))


def _show_first(form: dj.Form, name: str, count: int) -> None:
    """Show the first `count` choices of a multiple-choice field, the rest behind "More choices"
    (open when one of them is already chosen, so going back hides nothing)."""
    field = form.fields[name]
    field.shown_first = count
    rest = {str(code) for code, _label in list(field.choices)[count:]}
    chosen = form.data.getlist(name) if form.is_bound else (form.initial.get(name) or [])
    field.more_open = bool(rest & {str(v) for v in chosen})


class WhereStep(dj.Form):
    province = dj.ModelChoiceField(
        label=_("Province"), queryset=Province.objects.all(), required=False, empty_label=_("I do not know")
    )
    district = dj.ChoiceField(label=_("District"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = _districts_grouped()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        code = data.get("district") or ""
        district = District.objects.filter(pk=code).first() if code else None
        province = data.get("province")
        if district is not None and province is not None and district.province_id != province.pk:
            raise ValidationError(_("That district is not in the province you chose. Check one of them."))
        data["district_obj"] = district
        return data


def place_from_state(state: dict[str, Any]) -> tuple[Province | None, District | None]:
    """The province and district the where-step stored in the signed state, checked again as `WhereStep`
    checks them (without building its 150-district menu); (None, None) if they no longer fit."""
    province_pk, code = state.get("province") or "", state.get("district") or ""
    province = Province.objects.filter(pk=province_pk).first() if province_pk else None
    district = District.objects.filter(pk=code).first() if code else None
    if (province_pk and province is None) or (code and district is None):
        return None, None
    if district is not None and province is not None and district.province_id != province.pk:
        return None, None
    return province, district


class SendStep(dj.Form):
    narrative = dj.CharField(
        label=_("Tell us more, in your own words (you can leave this empty)"),
        widget=dj.Textarea(attrs={"rows": 5}),
        max_length=actions.MAX_NARRATIVE_CHARS,
        required=False,
    )
    contact = dj.ChoiceField(
        label=_("Do you want us to call you back?"),
        choices=[
            ("anonymous", _("No, I want to stay anonymous. I will check with my receipt.")),
            ("callback", _("Yes, you can call me on this number.")),
        ],
        widget=dj.RadioSelect,
        initial="anonymous",
    )
    callback_phone = dj.CharField(label=_("Phone number"), max_length=40, required=False)
    attachment = dj.FileField(
        label=_("A screenshot of threats, chats or a profile (optional)"),
        help_text=_(
            "Pictures only, at most 2 MB: a threatening message or a profile, with no sexual picture in it. Never send sexual pictures of a child."
        ),
        required=False,
    )
    consent = dj.BooleanField(
        label=_(
            "I understand: people who protect children will read this. They will only share it to help keep children safe."
        ),
    )
    # Honeypot: hidden from people (CSS), from screen readers (aria-hidden) and from the keyboard
    # (tabindex -1); bots fill it in.
    website = dj.CharField(label=_("Leave this field empty"), required=False, widget=HONEYPOT)

    def clean_callback_phone(self) -> str:
        phone = self.cleaned_data.get("callback_phone", "").strip()
        digits = [c for c in phone if c.isdigit()]
        if phone and (len(digits) < 8 or any(c not in "0123456789 +-()." for c in phone)):
            raise ValidationError(_("Write the phone number with digits only, for example 84 123 4567."))
        return phone

    def clean_attachment(self) -> Any:
        upload = self.cleaned_data.get("attachment")
        if upload:
            if upload.size > actions.MAX_ATTACHMENT_BYTES:
                raise ValidationError(_("The file is too large: at most 2 MB."))
            data = upload.read()
            actions.validate_attachment(data)
            return data
        return None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("contact") == "callback" and not data.get("callback_phone"):
            self.add_error("callback_phone", _("Write the number we can call, or choose to stay anonymous."))
        return data


class ReceiptForm(dj.Form):
    receipt = dj.CharField(
        label=_("Your receipt (16 digits)"),
        max_length=64,
        widget=dj.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_receipt(self) -> str:
        digits = receipts.normalise(self.cleaned_data["receipt"])
        if digits is None:
            raise ValidationError(_("A receipt has 16 digits. Check what you wrote and try again."))
        return digits


class ReplyForm(ReceiptForm):
    receipt = dj.CharField(widget=dj.HiddenInput, max_length=64)
    text = dj.CharField(
        label=_("Add information or answer the case worker"),
        widget=dj.Textarea(attrs={"rows": 4}),
        max_length=actions.MAX_MESSAGE_CHARS,
        required=False,
    )
    attachment = SendStep.base_fields["attachment"]
    website = dj.CharField(label=_("Leave this field empty"), required=False, widget=HONEYPOT)

    clean_attachment = SendStep.clean_attachment

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("text") or "").strip() and not data.get("attachment") and not self.errors:
            raise ValidationError(_("Write a message or choose a picture to send."))
        return data


class ContactForm(dj.Form):
    """The helpline console and the desk: one keyboard-friendly form, immediate risk first."""

    immediate_danger = dj.ChoiceField(
        label=_("Is a child in immediate danger?"), choices=YES_NO, widget=dj.RadioSelect
    )
    caller_type = dj.ChoiceField(
        label=_("Who is calling?"), choices=CallerType.choices, widget=dj.RadioSelect
    )
    who_affected = dj.ChoiceField(
        label=_("Who is affected?"), choices=WhoAffected.choices, initial=WhoAffected.UNKNOWN
    )
    forms = dj.MultipleChoiceField(
        label=_("Classification"), choices=Form.choices, widget=dj.CheckboxSelectMultiple
    )
    platforms = dj.MultipleChoiceField(
        label=_("Platforms"), choices=Platform.choices, widget=dj.CheckboxSelectMultiple, required=False
    )
    province = dj.ModelChoiceField(label=_("Province"), queryset=Province.objects.all(), required=False)
    district = dj.ModelChoiceField(label=_("District"), queryset=District.objects.all(), required=False)
    narrative = dj.CharField(
        label=_("Summary of the call"),
        widget=dj.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=actions.MAX_NARRATIVE_CHARS,
    )
    link_or_account = dj.CharField(
        label=_("Link or account"), required=False, max_length=actions.MAX_LINK_CHARS
    )
    callback_phone = dj.CharField(
        label=_("Call-back number (only with the caller's consent)"), required=False, max_length=40
    )
    callback_consented = dj.BooleanField(label=_("The caller agrees to be called back"), required=False)
    action_taken = dj.ChoiceField(label=_("Action taken"), choices=ActionTaken.choices)
    suggested_agency = dj.ModelChoiceField(
        label=_("Suggested referral"), queryset=Agency.objects.filter(active=True), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        district, province = data.get("district"), data.get("province")
        if district is not None and province is not None and district.province_id != province.pk:
            raise ValidationError(_("The district is not in the chosen province."))
        return data


class NotOcseaForm(dj.Form):
    reason = dj.CharField(label=_("Reason"), max_length=500)


class ReferForm(dj.Form):
    to_agency = dj.ModelChoiceField(label=_("Refer to"), queryset=Agency.objects.filter(active=True))
    reason = dj.CharField(label=_("Reason"), max_length=500)
    # What the other agency may see beyond the non-identifying facts, and the consent (or legal basis)
    # that allows sharing at all: amparo.cases.actions.refer_case checks them.
    shared_fields = dj.MultipleChoiceField(
        label=_("Information to share"),
        choices=ShareableField.choices,
        required=False,
        widget=dj.CheckboxSelectMultiple,
    )
    child_consent = dj.ChoiceField(
        label=_("The child's consent"), choices=ConsentAnswer.choices, initial=ConsentAnswer.NOT_ASKED
    )
    caregiver_consent = dj.ChoiceField(
        label=_("The caregiver's consent"), choices=ConsentAnswer.choices, initial=ConsentAnswer.NOT_ASKED
    )
    legal_basis = dj.ChoiceField(
        label=_("Legal basis for sharing without consent"),
        choices=[("", _("None: the child and the caregiver consented")), *LegalBasis.choices[1:]],
        required=False,
    )
    justification = dj.CharField(label=_("Why the legal basis applies"), max_length=2000, required=False)


class MergeForm(dj.Form):
    existing = dj.CharField(label=_("Reference of the existing case"), max_length=16)


class StaffMessageForm(dj.Form):
    text = dj.CharField(
        label=_("Message to the reporter"),
        help_text=_("The reporter reads this only when they check with their receipt. Do not name anyone."),
        widget=dj.Textarea(attrs={"rows": 3}),
        max_length=actions.MAX_MESSAGE_CHARS,
    )
