"""The outreach entries of the staff home page (registered with amparo.core.views in ready())."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy

from amparo.core.policy import can
from amparo.core.views import Ability
from amparo.outreach.permissions import OutreachPermission


def home_links(user: Any) -> list[Ability]:
    links = []
    if can(user, OutreachPermission.CONTENT_VIEW):
        links.append(Ability(gettext_lazy("Education content library"), reverse("outreach:content_list")))
    if can(user, OutreachPermission.SESSION_VIEW):
        links.append(Ability(gettext_lazy("Community awareness sessions"), reverse("outreach:session_list")))
    if can(user, OutreachPermission.REACH_VIEW):
        links.append(Ability(gettext_lazy("Reach of the education work"), reverse("outreach:reach")))
    return links
