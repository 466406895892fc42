"""Reading links and merges between cases (the writes are amparo.cases.actions.relations).

- `exclude_merged(qs)`: case lists leave out duplicates merged into another case (their page still opens,
  with a banner linking to the primary case).
- `relations_for(user, case)`: the case's active links, the cases merged into it and the case it was merged
  into, each with the other case's reference only when the user may read that case.
- Link suggestions: apps above cases (evidence: the same file in two cases) register a function
  (user, case) -> list of Suggestion; the relations panel offers each as a one-click link.
- `relations_history`: the timeline source for links and merges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from amparo.cases.models import Case, CaseRelation, RelationReason
from amparo.cases.permissions import CasePermission, JusticeAudit
from amparo.cases.timeline import Entry
from amparo.core.models import AuditEntry
from amparo.core.policy import can


def exclude_merged(qs: QuerySet[Case]) -> QuerySet[Case]:
    """Cases not merged into another case (for case lists, queues and counts of distinct cases)."""
    return qs.filter(merged_into__isnull=True)


@dataclass(frozen=True)
class Related:
    """Another case as the reader may see it: its reference is shown only when they may read it."""

    case: Case
    readable: bool

    @property
    def reference(self) -> str:
        return self.case.reference if self.readable else ""


@dataclass(frozen=True)
class LinkView:
    relation: CaseRelation
    other: Related


@dataclass(frozen=True)
class Relations:
    links: list[LinkView]
    merged_cases: list[Related]
    merged_into: Related | None
    hidden_links: int  # links to cases the reader may not read (counted, not named)


def _related(user: Any, case: Case) -> Related:
    return Related(case, can(user, CasePermission.READ, case))


def relations_for(user: Any, case: Case) -> Relations:
    rows = (
        CaseRelation.objects.filter(Q(from_case=case) | Q(to_case=case), removed_at__isnull=True)
        .select_related("from_case", "to_case", "created_by")
        .order_by("created_at")
    )
    links, hidden = [], 0
    for relation in rows:
        other = relation.to_case if relation.from_case_id == case.pk else relation.from_case
        related = _related(user, other)
        if related.readable:
            links.append(LinkView(relation, related))
        else:
            hidden += 1
    merged = [_related(user, c) for c in Case.objects.filter(merged_into=case).order_by("merged_at")]
    into = _related(user, case.merged_into) if case.merged_into_id else None
    return Relations(links, merged, into, hidden)


# --- Suggestions from other apps -----------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    other: Case
    reason: str  # a RelationReason code
    label: str  # already translated, no personal data (e.g. "The same file is in both cases.")


SuggestionSource = Callable[[Any, Case], list[Suggestion]]
_suggestion_sources: list[SuggestionSource] = []


def register_link_suggestions(source: SuggestionSource) -> None:
    if source not in _suggestion_sources:
        _suggestion_sources.append(source)


def link_suggestions(user: Any, case: Case) -> list[Suggestion]:
    """Suggestions for cases the user may read, not already linked for that reason."""
    linked = set()
    for a, b, reason in CaseRelation.objects.filter(
        Q(from_case=case) | Q(to_case=case), removed_at__isnull=True
    ).values_list("from_case_id", "to_case_id", "reason"):
        linked.add((b if a == case.pk else a, reason))
    seen, result = set(), []
    for source in _suggestion_sources:
        for suggestion in source(user, case):
            key = (suggestion.other.pk, suggestion.reason)
            if (
                suggestion.other.pk == case.pk
                or key in linked
                or key in seen
                or not can(user, CasePermission.READ, suggestion.other)
            ):
                continue
            seen.add(key)
            result.append(suggestion)
    return result


# --- Timeline ------------------------------------------------------------------------------------------


def _reason_label(code: str) -> str:
    return str(RelationReason(code).label) if code in RelationReason.values else code


def _ref(user: Any, case: Case) -> str:
    return case.reference if can(user, CasePermission.READ, case) else _("a case you cannot see")


def relations_history(user: Any, case: Case, sections: frozenset[str]) -> Iterator[Entry]:
    rows = CaseRelation.objects.filter(Q(from_case=case) | Q(to_case=case)).select_related(
        "from_case", "to_case", "created_by", "removed_by"
    )
    for relation in rows:
        other = relation.to_case if relation.from_case_id == case.pk else relation.from_case
        words = {"reference": _ref(user, other), "reason": _reason_label(relation.reason)}
        yield Entry(
            at=relation.created_at,
            kind="relation",
            title=_("Linked to case %(reference)s (%(reason)s).") % words,
            detail=relation.note,
            actor=relation.created_by.get_username() if relation.created_by else _("System"),
            identifying=True,
        )
        if relation.removed_at:
            yield Entry(
                at=relation.removed_at,
                kind="relation",
                title=_("Link to case %(reference)s (%(reason)s) removed.") % words,
                actor=relation.removed_by.get_username() if relation.removed_by else _("System"),
            )
    # Merges and un-merges, both ways, from the audit log (the case row keeps only the current merge).
    entries = AuditEntry.objects.filter(
        object_type="cases.case",
        object_id=str(case.pk),
        action__in=[
            JusticeAudit.CASE_MERGE,
            JusticeAudit.CASE_UNMERGE,
            JusticeAudit.CASE_MERGE_RECEIVE,
            JusticeAudit.CASE_UNMERGE_RELEASE,
        ],
    ).order_by("id")
    titles = {
        str(JusticeAudit.CASE_MERGE): _("This case was merged into another case as a duplicate."),
        str(JusticeAudit.CASE_UNMERGE): _("This case was un-merged; it is a separate case again."),
        str(JusticeAudit.CASE_MERGE_RECEIVE): _("A duplicate case was merged into this case."),
        str(JusticeAudit.CASE_UNMERGE_RELEASE): _("A case merged into this case was un-merged."),
    }
    for entry in entries:
        yield Entry(
            at=entry.at, kind="merge", title=titles[entry.action], actor=entry.actor_username or _("System")
        )
