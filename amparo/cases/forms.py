"""Forms of the case pages. They check shape only; the workflow rules live in
amparo.cases.workflow and are enforced by amparo.cases.actions.transition_case."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from amparo.cases.workflow import Outcome, Status


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
