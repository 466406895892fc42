"""The case workflow: states, outcomes and the transitions allowed between them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    TRIAGED = "triaged", _("Triaged")
    ASSIGNED = "assigned", _("Assigned")
    REFERRED = "referred", _("Referred")
    UNDER_INVESTIGATION = "under_investigation", _("Under investigation")
    WITH_PROSECUTOR = "with_prosecutor", _("With prosecutor")
    IN_COURT = "in_court", _("In court")
    CLOSED = "closed", _("Closed")


class Outcome(models.TextChoices):
    CONVICTED = "convicted", _("Convicted")
    ACQUITTED = "acquitted", _("Acquitted")
    DISMISSED = "dismissed", _("Dismissed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    NO_OFFENCE = "no_offence", _("No offence")
    SUPPORT_ONLY = "support_only", _("Support only")
    DUPLICATE = "duplicate", _("Duplicate")


S = Status
ALLOWED: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.TRIAGED, S.CLOSED}),
    S.TRIAGED: frozenset({S.ASSIGNED, S.REFERRED, S.CLOSED}),
    S.ASSIGNED: frozenset({S.REFERRED, S.UNDER_INVESTIGATION, S.CLOSED}),
    S.REFERRED: frozenset({S.ASSIGNED, S.UNDER_INVESTIGATION, S.CLOSED}),
    S.UNDER_INVESTIGATION: frozenset({S.REFERRED, S.WITH_PROSECUTOR, S.CLOSED}),
    # A prosecutor may send a case back for more investigation.
    S.WITH_PROSECUTOR: frozenset({S.UNDER_INVESTIGATION, S.IN_COURT, S.CLOSED}),
    S.IN_COURT: frozenset({S.CLOSED}),
    # A closed case can be reopened (new information); it goes back to triage.
    S.CLOSED: frozenset({S.TRIAGED}),
}

# Verdicts come only from court.
COURT_OUTCOMES = frozenset({Outcome.CONVICTED, Outcome.ACQUITTED})


class TransitionError(ValueError):
    """A transition the workflow does not allow; the message says what is allowed instead."""


def check_transition(current: str, target: str, outcome: str = "", reason: str = "") -> None:
    if target not in Status.values:
        raise TransitionError(_("Unknown status: %(status)s.") % {"status": target})
    allowed = ALLOWED[current]
    if target not in allowed:
        raise TransitionError(
            _("A case that is %(current)s cannot become %(target)s; it can become: %(allowed)s.")
            % {
                "current": Status(current).label,
                "target": Status(target).label,
                "allowed": ", ".join(str(Status(s).label) for s in sorted(allowed)),
            }
        )
    if not reason.strip():
        raise TransitionError(_("Give a reason for the change of status."))
    if target == Status.CLOSED:
        if outcome not in Outcome.values:
            raise TransitionError(_("Closing a case needs an outcome."))
        if outcome in COURT_OUTCOMES and current != Status.IN_COURT:
            raise TransitionError(_("Only a case in court can close as convicted or acquitted."))
    elif outcome:
        raise TransitionError(_("An outcome is given only when a case is closed."))
