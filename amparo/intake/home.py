"""The intake entries of the staff home page (registered with amparo.core.views in ready())."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy

from amparo.core.policy import can
from amparo.core.views import Ability
from amparo.intake.permissions import IntakePermission


def home_links(user: Any) -> list[Ability]:
    links = []
    if can(user, IntakePermission.HELPLINE_RECORD):
        links.append(Ability(gettext_lazy("Record a call"), reverse("intake:console")))
    if can(user, IntakePermission.DESK_RECORD):
        links.append(Ability(gettext_lazy("Record a visit"), reverse("intake:desk")))
    if can(user, IntakePermission.TRIAGE):
        links.append(Ability(gettext_lazy("New reports"), reverse("intake:triage")))
    if can(user, IntakePermission.CYBERTIP_IMPORT):
        links.append(Ability(gettext_lazy("Import a CyberTipline referral"), reverse("intake:cybertip")))
    return links


def case_links(user: Any, case: Any) -> list[tuple[str, str]]:
    """On the case page: the conversation with an anonymous reporter, where there is one."""
    from amparo.intake.models import Report

    if not Report.objects.filter(case=case).exists() or not can(
        user, IntakePermission.MESSAGE_REPORTER, case
    ):
        return []
    label = gettext("Messages with the reporter of %(reference)s") % {"reference": case.reference}
    return [(label, reverse("intake:reporter_messages", args=[case.reference]))]
