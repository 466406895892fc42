"""Forms of the outreach staff pages (they parse input; the actions validate and write)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.core.models import Agency, District
from amparo.outreach.actions import PARTICIPANT_KEYS
from amparo.outreach.models import AgeBand, Audience, ContentItem, Format, Setting, Sex, Topic


class ItemForm(forms.Form):
    slug = forms.SlugField(label=_("Short name (letters, numbers and dashes)"), max_length=80)
    audience = forms.ChoiceField(label=_("Audience"), choices=Audience.choices)
    topic = forms.ChoiceField(label=_("Topic"), choices=Topic.choices)
    format = forms.ChoiceField(label=_("Format"), choices=Format.choices)
    cadence_days = forms.IntegerField(
        label=_("Days between messages (SMS series)"), min_value=1, max_value=60, initial=7
    )
    review_note = forms.CharField(label=_("Note for reviewers"), max_length=200, required=False)


class TranslationForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=160)
    body = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_('Separate paragraphs with a blank line; start a line with "- " for a list item.'),
    )
    messages = forms.CharField(
        label=_("SMS messages, one per line, in the order they are sent"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
    )

    def message_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("messages", "").splitlines() if line.strip()]


def language_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def participant_field(sex: str, band: str) -> str:
    return f"p_{sex}_{band}"


class SessionForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    district = forms.ModelChoiceField(label=_("District"), queryset=District.objects.order_by("name"))
    area = forms.ChoiceField(
        label=_("Urban or rural"),
        choices=[
            ("", _("As the district (urban in a provincial capital)")),
            ("urban", _("Urban")),
            ("rural", _("Rural")),
        ],
        required=False,
    )
    setting = forms.ChoiceField(label=_("Setting"), choices=Setting.choices)
    audience = forms.ChoiceField(label=_("Audience"), choices=Audience.choices)
    facilitating_agency = forms.ModelChoiceField(
        label=_("Facilitating agency"), queryset=Agency.objects.filter(active=True).order_by("name")
    )
    out_of_school = forms.IntegerField(
        label=_("Out-of-school children who took part"), min_value=0, initial=0
    )
    with_disability = forms.IntegerField(label=_("Participants with disabilities"), min_value=0, initial=0)
    materials = forms.ModelMultipleChoiceField(
        label=_("Materials used"),
        queryset=ContentItem.objects.order_by("slug"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    other_materials = forms.CharField(label=_("Other materials"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for sex, band in PARTICIPANT_KEYS:
            self.fields[participant_field(sex, band)] = forms.IntegerField(
                label=f"{Sex(sex).label} {AgeBand(band).label}", min_value=0, initial=0, required=False
            )

    def clean_date(self) -> Any:
        value = self.cleaned_data["date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("The date of a session cannot be in the future."))
        return value

    def participants(self) -> dict[tuple[str, str], int]:
        return {
            (sex, band): self.cleaned_data.get(participant_field(sex, band)) or 0
            for sex, band in PARTICIPANT_KEYS
        }

    def participant_rows(self) -> list[tuple[str, list[Any]]]:
        """The grid of participant fields: one row per sex, one column per age band."""
        return [
            (Sex(sex).label, [self[participant_field(sex, band)] for band in AgeBand.values])
            for sex in Sex.values
        ]
