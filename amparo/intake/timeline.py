"""Intake's entries on the case timeline (registered with amparo.cases.timeline in IntakeConfig.ready()):
the public report the case came from, the messages between staff and the anonymous reporter, and the
NCMEC CyberTipline referral or industry report that opened the case (by report id and organisation, no
identifier of a person).

Messages are the reporter's account in their own words: an agency holding the case through a referral sees
them only when the account ("narrative") was shared, and their text only with an identity role (the page
shows identifying details to those roles alone).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from amparo.cases.models import Case, ShareableField
from amparo.cases.timeline import Entry
from amparo.core.policy import can
from amparo.intake.models import (
    IndustrySubmission,
    InternationalReferral,
    MessageDirection,
    Report,
    ReporterMessage,
)
from amparo.intake.permissions import IntakePermission


def intake_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    for referral in InternationalReferral.objects.filter(case=case):
        yield Entry(
            at=referral.imported_at,
            kind="report",
            title=_("NCMEC CyberTipline report %(id)s imported with %(count)d file(s).")
            % {"id": referral.external_id, "count": referral.file_count},
            actor=referral.imported_by.get_username() if referral.imported_by_id else "",
        )
    for submission in IndustrySubmission.objects.filter(case=case).select_related("organisation"):
        yield Entry(
            at=submission.submitted_at,
            kind="report",
            title=_("Report %(id)s received from %(organisation)s through the industry API.")
            % {"id": submission.submission_id, "organisation": submission.organisation.name},
        )
    yield from _public_report(user, case, sections)


def _public_report(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    report = Report.objects.filter(case=case).first()
    if report is None:
        return
    yield Entry(
        at=report.created_at,
        kind="report",
        title=_("Report received; the reporter holds a receipt to follow it up."),
    )
    if ShareableField.NARRATIVE not in sections:
        return
    url = (
        reverse("intake:reporter_messages", args=[case.reference])
        if can(user, IntakePermission.MESSAGE_REPORTER, case)
        else ""
    )
    for message in ReporterMessage.objects.filter(report=report).select_related("author"):
        to_reporter = message.direction == MessageDirection.TO_REPORTER
        yield Entry(
            at=message.created_at,
            kind="message",
            title=_("Message to the reporter") if to_reporter else _("Message from the reporter"),
            detail=message.text,
            actor=message.author.get_username() if to_reporter and message.author else "",
            url=url,
            identifying=True,
        )
