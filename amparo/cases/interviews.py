"""Child-friendly justice: a child should be interviewed as few times as possible, and a recorded interview
should not be repeated. The case page warns before another interview of a child already interviewed, and
amparo.cases.actions.justice.record_interview asks for an explicit confirmation when a recorded interview
exists.

Interviews counted: those of the case and of the cases merged into it (the same child reported twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from amparo.cases.models import Case, Interview, Person


@dataclass(frozen=True)
class RepeatInterviewWarning:
    """The previous interviews of a child (recorded ones first). Falsy when there are none."""

    interviews: list[Interview] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.interviews)

    @property
    def recorded(self) -> list[Interview]:
        return [i for i in self.interviews if i.recorded]

    @property
    def needs_confirmation(self) -> bool:
        """A recorded interview exists: another one needs an explicit confirmation."""
        return bool(self.recorded)

    def message(self) -> str:
        """The sentence the case page shows (dates in Maputo time; the recording's place only)."""
        if not self.interviews:
            return ""
        dates = ", ".join(_date(i) for i in self.interviews)
        if self.recorded:
            where = "; ".join(i.recording_reference or _("place not given") for i in self.recorded)
            return _(
                "This child was already interviewed on %(dates)s (recorded: %(where)s). "
                "A recorded interview should not be repeated."
            ) % {"dates": dates, "where": where}
        return _(
            "This child was already interviewed on %(dates)s (not recorded). "
            "Avoid interviewing the child again unless it is necessary."
        ) % {"dates": dates}


def _date(interview: Interview) -> str:
    return formats.date_format(timezone.localtime(interview.occurred_at), "SHORT_DATE_FORMAT")


def _case_ids(case: Case) -> list[Any]:
    return [case.pk, *Case.objects.filter(merged_into=case).values_list("pk", flat=True)]


def repeat_interview_warning(case: Case, person: Person | None = None) -> RepeatInterviewWarning:
    """The previous interviews of `person` (a child of `case`), or of any child of the case when no person
    is named. Interviews recorded without naming the child count for every child of the case."""
    qs = Interview.objects.filter(case_id__in=_case_ids(case))
    if person is not None:
        qs = qs.filter(Q(person=person) | Q(person__isnull=True))
    interviews = sorted(qs.order_by("occurred_at", "created_at"), key=lambda i: not i.recorded)
    return RepeatInterviewWarning(interviews)
