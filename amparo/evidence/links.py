"""The evidence entry of the case page (registered with amparo.cases.views in ready())."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext

from amparo.core.policy import can
from amparo.evidence.permissions import EvidencePermission


def case_links(user: Any, case: Any) -> list[tuple[str, str]]:
    if not can(user, EvidencePermission.READ, case):
        return []
    label = gettext("Evidence of case %(reference)s") % {"reference": case.reference}
    return [(label, reverse("evidence:case", args=[case.reference]))]


def home_links(user: Any) -> list[Any]:
    """On the staff home page: takedown notices (and the block list) for those who send them."""
    from amparo.core.views import Ability
    from amparo.evidence.permissions import TakedownPermission

    if not can(user, TakedownPermission.NOTICE_MANAGE):
        return []
    return [Ability(gettext("Takedown notices and the URL block list"), reverse("evidence:takedown"))]
