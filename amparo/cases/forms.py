"""Forms of the case pages (case work, justice work, links and merges). They check shape only; the workflow rules live in
amparo.cases.workflow and are enforced by amparo.cases.actions.transition_case."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from amparo.cases.actions.justice import ANSWER_STATUSES
from amparo.cases.models import (
    Case,
    ConsentAnswer,
    JusticeEventKind,
    LegalBasis,
    PersonRole,
    PreservationKind,
    PreservationStatus,
    Priority,
    RelationReason,
    ServiceProvider,
    ShareableField,
    Verdict,
)
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


# --- Justice work: events, interviews, preservation requests and their answers --------------------------

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _PanelForm(forms.Form):
    """A form shown in a panel of the case page: its ids carry the panel's prefix, so that no two forms
    of the page share an id (labels point at the right field)."""

    id_prefix = "form"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class JusticeEventForm(_PanelForm):
    id_prefix = "justice"
    kind = forms.ChoiceField(label=_("Event"), choices=JusticeEventKind.choices)
    occurred_at = forms.DateTimeField(label=_("Date and time"), widget=DATETIME)
    court_case_number = forms.CharField(label=_("Court case number"), max_length=64, required=False)
    court_name = forms.CharField(label=_("Court"), max_length=200, required=False)
    verdict = forms.ChoiceField(
        label=_("Verdict"),
        choices=[("", _("No verdict (not a verdict event)")), *Verdict.choices[1:]],
        required=False,
    )
    sentence = forms.CharField(label=_("Sentence"), max_length=300, required=False)
    amount_mzn = forms.DecimalField(
        label=_("Amount (MZN), compensation only"), max_digits=14, decimal_places=2, required=False
    )
    details = forms.CharField(
        label=_("Details"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def limit_to(self, kinds: list[str]) -> None:
        self.fields["kind"].choices = [(k, JusticeEventKind(k).label) for k in kinds]


class InterviewForm(_PanelForm):
    id_prefix = "interview"
    person = forms.ChoiceField(label=_("Child"), required=False)
    occurred_at = forms.DateTimeField(label=_("Date and time"), widget=DATETIME)
    by_me = forms.BooleanField(label=_("I interviewed the child"), required=False)
    interviewer_name = forms.CharField(label=_("Interviewer (if not you)"), max_length=200, required=False)
    interviewer_trained = forms.BooleanField(
        label=_("The interviewer is trained in interviewing children"), required=False
    )
    support_person_present = forms.BooleanField(label=_("A support person was present"), required=False)
    support_person_role = forms.CharField(
        label=_("Support person (role, not name)"), max_length=100, required=False
    )
    recorded = forms.BooleanField(label=_("The interview was recorded (audio or video)"), required=False)
    recording_reference = forms.CharField(
        label=_("Where the recording is kept"), max_length=200, required=False
    )
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    purpose = forms.CharField(label=_("Purpose"), max_length=200, required=False)
    notes = forms.CharField(
        label=_("Notes"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    confirm_repeat = forms.BooleanField(
        label=_("I confirm that another interview of this child is necessary"), required=False
    )

    def __init__(self, *args: Any, case: Case, show_identity: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.children = {str(p.pk): p for p in case.persons.filter(role=PersonRole.VICTIM)}
        choices = [("", _("Not named"))]
        for number, (pk, person) in enumerate(self.children.items(), start=1):
            label = gettext("Child %(number)s (%(age)s, %(sex)s)") % {
                "number": number,
                "age": person.get_age_band_display(),
                "sex": person.get_sex_display(),
            }
            if show_identity and person.name:
                label = f"{label}: {person.name}"
            choices.append((pk, label))
        self.fields["person"].choices = choices


class PreservationForm(_PanelForm):
    id_prefix = "preservation"
    provider = forms.ModelChoiceField(
        label=_("Service provider"), queryset=ServiceProvider.objects.filter(active=True)
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=PreservationKind.choices)
    identifiers = forms.CharField(
        label=_("Identifiers (one per line: phone numbers, accounts, links, IP addresses)"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    date_from = forms.DateField(label=_("From"), widget=DATE)
    date_to = forms.DateField(label=_("To"), widget=DATE)
    legal_basis = forms.CharField(
        label=_("Legal basis"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AnswerForm(_PanelForm):
    id_prefix = "answer"
    status = forms.ChoiceField(
        label=_("Answer"),
        choices=[(s, PreservationStatus(s).label) for s in PreservationStatus.values if s in ANSWER_STATUSES],
    )
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


# --- Links and merges between cases ---------------------------------------------------------------------


class LinkForm(forms.Form):
    other = forms.CharField(label=_("Reference of the other case"), max_length=16)
    reason = forms.ChoiceField(label=_("Connection"), choices=RelationReason.choices)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class MergeForm(forms.Form):
    into = forms.CharField(label=_("Reference of the case to merge this one into"), max_length=16)
    confirm = forms.BooleanField(
        label=_(
            "I confirm that this case is a duplicate. It will be hidden from case lists and show a link "
            "to the other case; nothing is deleted and the merge can be undone."
        ),
        required=False,
    )
