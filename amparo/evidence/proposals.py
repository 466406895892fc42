"""What evidence adds to case work (registered from EvidenceConfig.ready()):

- link suggestions (amparo.cases.relations.register_link_suggestions): a LinkProposal (the same file, by
  SHA-256, in two cases) is offered on the case page as a "same evidence" link; accepting it is
  amparo.cases.actions.relations.link_cases, so it is audited like any link. Offered only to readers of the
  case's evidence, and only for the other case when they may read it (the cases app checks that).
- the evidence section of the case dossier (amparo.cases.dossier.register_dossier_section): items by hash
  only (never a file, never its original name), when the evidence section is shared with the reader.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases.dossier import DossierSection
from amparo.cases.models import Case, RelationReason, ShareableField
from amparo.cases.relations import Suggestion
from amparo.core.policy import can
from amparo.evidence.models import EvidenceItem, LinkProposal
from amparo.evidence.permissions import EvidencePermission


def link_suggestions(user: Any, case: Case) -> list[Suggestion]:
    if not can(user, EvidencePermission.READ, case):
        return []
    proposals = LinkProposal.objects.filter(Q(case_a=case) | Q(case_b=case)).select_related(
        "case_a", "case_b"
    )
    label = _("The same evidence file is in both cases.")
    return [
        Suggestion(
            other=p.case_b if p.case_a_id == case.pk else p.case_a,
            reason=RelationReason.SAME_EVIDENCE,
            label=label,
        )
        for p in proposals.order_by("proposed_at")
    ]


def dossier_section(user: Any, case: Case, sections: frozenset[str]) -> DossierSection | None:
    if ShareableField.EVIDENCE not in sections or not can(user, EvidencePermission.READ, case):
        return None
    lines = []
    for item in EvidenceItem.objects.filter(case=case).order_by("received_at", "id"):
        received = timezone.localtime(item.received_at).strftime("%Y-%m-%d %H:%M")
        state = _(" (destroyed)") if item.destroyed_at else ""
        lines.append(f"{item.short_id}  {received}  SHA-256 {item.sha256}{state}")
    return DossierSection(key="evidence", title=_("Evidence (hashes only)"), lines=lines, monospace=True)
