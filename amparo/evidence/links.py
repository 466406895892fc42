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
