"""The observatory's entry on the staff home page (registered with amparo.core.views in ready())."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy

from amparo.core.policy import can
from amparo.core.views import Ability
from amparo.observatory.permissions import ObservatoryPermission


def home_links(user: Any) -> list[Ability]:
    national = can(user, ObservatoryPermission.VIEW_NATIONAL)
    own_agency = getattr(user, "agency_id", None) and can(
        user, ObservatoryPermission.VIEW_AGENCY, user.agency
    )
    if not (national or own_agency):
        return []
    return [Ability(gettext_lazy("National OCSEA observatory"), reverse("observatory:dashboard"))]
