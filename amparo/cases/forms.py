"""Forms of the case pages. They check shape only; the workflow rules live in
amparo.cases.workflow and are enforced by amparo.cases.actions.transition_case."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from amparo.cases.models import ConsentAnswer, LegalBasis, Priority, ShareableField
from amparo.cases.workflow import Outcome, Status
from amparo.core.models import Agency, User


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(
        label=_("New status"),
        choices=Status.choices,
        error_messages={"invalid_choice": _("Choose one of the statuses offered.")},
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", _("No outcome (the case is not being closed)")), *Outcome.choices],
        required=False,
        help_text=_("Only when closing the case."),
        error_messages={"invalid_choice": _("Choose one of the outcomes offered.")},
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=2000,
        required=False,  # the action explains what is missing, in the same words as everywhere else
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def limit_to(self, statuses: list[str]) -> None:
        """Offer only the statuses the workflow allows next (posted values are still checked by the action)."""
        self.fields["to_status"].choices = [(s, Status(s).label) for s in statuses]


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=5000,
        required=False,  # the action says what is missing
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        error_messages={"invalid_choice": _("Choose one of the priorities offered.")},
    )
    reason = forms.CharField(label=_("Reason for the change"), max_length=2000, required=False)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody (unassign)"),
        error_messages={"invalid_choice": _("Choose one of the people offered.")},
    )

    def __init__(self, *args: Any, eligible: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if eligible is not None:
            self.fields["assignee"].queryset = eligible


class ReferForm(forms.Form):
    """A referral with its consent block. Nothing is shared beyond the non-identifying facts unless ticked."""

    to_agency = forms.ModelChoiceField(
        label=_("Refer to"),
        queryset=Agency.objects.filter(active=True),
        error_messages={"invalid_choice": _("Choose one of the agencies offered.")},
    )
    reason = forms.CharField(
        label=_("Reason for the referral"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Priority.choices, initial=Priority.NORMAL)
    shared_fields = forms.MultipleChoiceField(
        label=_("Information to share beyond the non-identifying facts"),
        help_text=_("Share only what the other agency needs. Nothing is ticked to begin with."),
        choices=ShareableField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    child_consent = forms.ChoiceField(
        label=_("The child's consent"), choices=ConsentAnswer.choices, initial=ConsentAnswer.NOT_ASKED
    )
    caregiver_consent = forms.ChoiceField(
        label=_("The caregiver's consent"), choices=ConsentAnswer.choices, initial=ConsentAnswer.NOT_ASKED
    )
    legal_basis = forms.ChoiceField(
        label=_("Legal basis for sharing without consent"),
        choices=[("", _("None: the child and the caregiver consented")), *LegalBasis.choices[1:]],
        required=False,
    )
    justification = forms.CharField(
        label=_("Why the legal basis applies"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, owning_agency: Agency | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if owning_agency is not None:
            self.fields["to_agency"].queryset = Agency.objects.filter(active=True).exclude(
                pk=owning_agency.pk
            )


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", _("Accept")), ("decline", _("Decline"))],
        error_messages={"invalid_choice": _("Accept or decline the referral.")},
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)


class RevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason for revoking"), max_length=2000, required=False)
