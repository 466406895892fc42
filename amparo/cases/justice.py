"""The justice chain of a case: who records which step, the status each step suggests, how far a case got
(attrition from report to conviction, for the observatory) and the timeline entries of justice events,
interviews and preservation requests.

Stages, in order: report (every case) → investigation → prosecution (charges filed) → court → conviction.
A case's stage is the furthest one its justice events reach; `attrition()` counts cases per stage
(cumulative: a case in court also passed investigation). Callers publishing counts apply disclosure
control themselves (amparo.lib.disclosure).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from amparo.cases.models import (
    Case,
    JusticeEvent,
    JusticeEventKind,
    PreservationStatus,
    ShareableField,
    Verdict,
)
from amparo.cases.permissions import JusticePermission
from amparo.cases.timeline import Entry
from amparo.cases.workflow import ALLOWED, Outcome, Status

K = JusticeEventKind

# Who records what (amparo.cases.policy): investigation steps, and prosecution and court steps.
INVESTIGATION_KINDS = frozenset({K.INVESTIGATION_OPENED, K.SUSPECT_IDENTIFIED, K.SUSPECT_ARRESTED})
COURT_KINDS = frozenset(
    {
        K.CHARGES_FILED,
        K.CASE_ARCHIVED,
        K.COURT_CASE_REGISTERED,
        K.HEARING,
        K.VERDICT,
        K.SENTENCE,
        K.APPEAL,
        K.COMPENSATION_ORDERED,
        K.COMPENSATION_PAID,
    }
)
COMPENSATION_KINDS = frozenset({K.COMPENSATION_ORDERED, K.COMPENSATION_PAID})
SENTENCE_KINDS = frozenset({K.VERDICT, K.SENTENCE})


def permission_for(kind: str) -> JusticePermission:
    return (
        JusticePermission.RECORD_INVESTIGATION_EVENT
        if kind in INVESTIGATION_KINDS
        else JusticePermission.RECORD_COURT_EVENT
    )


# --- Attrition -----------------------------------------------------------------------------------

REPORT, INVESTIGATION, PROSECUTION, COURT, CONVICTION = (
    "report",
    "investigation",
    "prosecution",
    "court",
    "conviction",
)
STAGES = (REPORT, INVESTIGATION, PROSECUTION, COURT, CONVICTION)
STAGE_LABELS = {
    REPORT: gettext_lazy("Reported"),
    INVESTIGATION: gettext_lazy("Investigated"),
    PROSECUTION: gettext_lazy("Charged"),
    COURT: gettext_lazy("In court"),
    CONVICTION: gettext_lazy("Convicted"),
}
_KIND_STAGE = {
    K.INVESTIGATION_OPENED: INVESTIGATION,
    K.SUSPECT_IDENTIFIED: INVESTIGATION,
    K.SUSPECT_ARRESTED: INVESTIGATION,
    K.CASE_ARCHIVED: INVESTIGATION,
    K.CHARGES_FILED: PROSECUTION,
    K.COURT_CASE_REGISTERED: COURT,
    K.HEARING: COURT,
    K.VERDICT: COURT,
    K.SENTENCE: COURT,
    K.APPEAL: COURT,
    K.COMPENSATION_ORDERED: COURT,
    K.COMPENSATION_PAID: COURT,
}


def stage_of(kind: str, verdict: str = "") -> str:
    if kind == K.VERDICT and verdict == Verdict.CONVICTED:
        return CONVICTION
    return _KIND_STAGE.get(kind, REPORT)


def furthest_stage(events: Iterable[tuple[str, str]]) -> str:
    """The furthest stage reached by (kind, verdict) pairs; 'report' when there are none."""
    return max((stage_of(kind, verdict) for kind, verdict in events), key=STAGES.index, default=REPORT)


def stages(cases: QuerySet[Case]) -> dict[Any, str]:
    """{case id: furthest stage} for every case of `cases`, in two queries."""
    result = dict.fromkeys(cases.values_list("pk", flat=True), REPORT)
    rows = JusticeEvent.objects.filter(case_id__in=cases.values("pk")).values_list(
        "case_id", "kind", "verdict"
    )
    for case_id, kind, verdict in rows:
        stage = stage_of(kind, verdict)
        if STAGES.index(stage) > STAGES.index(result.get(case_id, REPORT)):
            result[case_id] = stage
    return result


def attrition(cases: QuerySet[Case]) -> dict[str, int]:
    """How many of `cases` reached each stage (cumulative), in stage order. Counts are not suppressed."""
    reached = dict.fromkeys(STAGES, 0)
    for stage in stages(cases).values():
        for earlier in STAGES[: STAGES.index(stage) + 1]:
            reached[earlier] += 1
    return reached


# --- The status a step suggests ----------------------------------------------------------------------

_SUGGESTED: dict[str, tuple[str, str]] = {
    K.INVESTIGATION_OPENED: (Status.UNDER_INVESTIGATION, ""),
    K.SUSPECT_IDENTIFIED: (Status.UNDER_INVESTIGATION, ""),
    K.SUSPECT_ARRESTED: (Status.UNDER_INVESTIGATION, ""),
    K.CHARGES_FILED: (Status.WITH_PROSECUTOR, ""),
    K.CASE_ARCHIVED: (Status.CLOSED, Outcome.DISMISSED),
    K.COURT_CASE_REGISTERED: (Status.IN_COURT, ""),
    K.HEARING: (Status.IN_COURT, ""),
}
_VERDICT_OUTCOME = {
    Verdict.CONVICTED: Outcome.CONVICTED,
    Verdict.ACQUITTED: Outcome.ACQUITTED,
    Verdict.DISMISSED: Outcome.DISMISSED,
}


def suggested_transition(case: Case, event: JusticeEvent) -> tuple[str, str] | None:
    """(status, outcome) the workflow could move to after `event`, if the workflow allows it from the
    case's status now; None otherwise. Only a suggestion: the person decides (transition_case)."""
    if event.kind == K.VERDICT:
        outcome = _VERDICT_OUTCOME.get(event.verdict)
        target = (Status.CLOSED, outcome) if outcome else None
    else:
        target = _SUGGESTED.get(event.kind)
    if target is None or target[0] == case.status or target[0] not in ALLOWED.get(case.status, ()):
        return None
    if target[1] in (Outcome.CONVICTED, Outcome.ACQUITTED) and case.status != Status.IN_COURT:
        return None
    return target


# --- Timeline ----------------------------------------------------------------------------------------


def _username(user: Any) -> str:
    return user.get_username() if user is not None else _("System")


def event_summary(event: JusticeEvent) -> str:
    """The event's non-identifying facts in one line (court, case number, verdict, amount)."""
    parts = [event.get_kind_display()]
    if event.court_case_number:
        parts.append(_("court case %(number)s") % {"number": event.court_case_number})
    if event.court_name:
        parts.append(event.court_name)
    if event.verdict:
        parts.append(event.get_verdict_display())
    if event.sentence:
        parts.append(event.sentence)
    if event.amount_mzn is not None:
        parts.append(_("%(amount)s MZN") % {"amount": event.amount_mzn})
    return " · ".join(str(p) for p in parts)


def justice_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    """Timeline source: justice events and preservation requests (justice section), interviews
    (interviews section). Free text is marked identifying."""
    if ShareableField.JUSTICE in sections:
        for event in case.justice_events.select_related("recorded_by"):
            yield Entry(
                at=event.occurred_at,
                kind="justice",
                title=_("Justice: %(summary)s") % {"summary": event_summary(event)},
                detail=event.details,
                actor=_username(event.recorded_by),
                identifying=True,
            )
        for request in case.preservation_requests.select_related("provider", "created_by"):
            url = reverse("cases:detail", args=[case.reference]) + "#preservation"
            yield Entry(
                at=request.created_at,
                kind="preservation",
                title=_("%(kind)s %(number)s to %(provider)s prepared.")
                % {
                    "kind": request.get_kind_display(),
                    "number": request.number,
                    "provider": request.provider.name,
                },
                actor=_username(request.created_by),
                url=url,
            )
            if request.sent_at:
                yield Entry(
                    at=request.sent_at,
                    kind="preservation",
                    title=_("Request %(number)s sent; answer due %(deadline)s.")
                    % {"number": request.number, "deadline": request.deadline},
                    url=url,
                )
            if request.answered_at and request.status != PreservationStatus.SENT:
                yield Entry(
                    at=request.answered_at,
                    kind="preservation",
                    title=_("Request %(number)s: %(status)s.")
                    % {"number": request.number, "status": request.get_status_display()},
                    url=url,
                )
    if ShareableField.INTERVIEWS in sections:
        for interview in case.interviews.select_related("interviewer", "recorded_by"):
            title = (
                _("Interview of the child (recorded).")
                if interview.recorded
                else _("Interview of the child (not recorded).")
            )
            yield Entry(
                at=interview.occurred_at,
                kind="interview",
                title=title,
                detail=interview.notes,
                actor=interview.interviewer.get_username()
                if interview.interviewer
                else interview.interviewer_name,
                identifying=True,
            )
