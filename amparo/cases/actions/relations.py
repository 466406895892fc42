"""Links and merges between cases (duplicates: the same child, the same offender account, the same evidence).

A link is a CaseRelation row, removed by stamping `removed_at` (never deleted). A merge moves nothing: the
duplicate gets `merged_into` and `merged_at`, keeps its status, records and access, and is left out of
case lists (amparo.cases.relations.exclude_merged); un-merging clears the two fields. Both directions of
a merge are audited: on the duplicate and on the case it was merged into.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.cases.models import Case, CaseRelation, RelationReason
from amparo.cases.permissions import JusticeAudit, JusticePermission
from amparo.core import audit
from amparo.core.policy import can

__all__ = ["link_cases", "merge_case", "unlink_cases", "unmerge_case"]


def _user(actor: Any) -> Any:
    return actor.user if isinstance(actor, audit.Actor) else actor


def _require(actor: Any, permission: Any, *objs: Any) -> None:
    if isinstance(actor, audit.Actor):
        if actor.user is None:
            return
        actor = actor.user
    for obj in objs:
        if not can(actor, permission, obj):
            raise PermissionDenied


def link_cases(actor: Any, from_case: Case, to_case: Case, *, reason: str, note: str = "") -> CaseRelation:
    """Link two cases the actor may read and work on. The same link (same cases, same reason, either
    direction) is made once."""
    _require(actor, JusticePermission.LINK_CASES, from_case, to_case)
    if reason not in RelationReason.values:
        raise ValidationError(_("Unknown reason for the link."))
    if from_case.pk == to_case.pk:
        raise ValidationError(_("A case cannot be linked to itself."))
    note = (note or "").strip()
    with transaction.atomic():
        # Lock both cases in a fixed order so that two people linking the same pair wait for each other.
        list(Case.objects.select_for_update().filter(pk__in=[from_case.pk, to_case.pk]).order_by("pk"))
        existing = CaseRelation.objects.filter(removed_at__isnull=True, reason=reason).filter(
            from_case__in=[from_case, to_case], to_case__in=[from_case, to_case]
        )
        if existing.exists():
            raise ValidationError(_("These cases are already linked for that reason."))
        relation = CaseRelation.objects.create(
            from_case=from_case, to_case=to_case, reason=reason, note=note, created_by=_user(actor)
        )
        fields = ["from_case", "to_case", "reason"] + (["note"] if note else [])
        audit.record(actor, JusticeAudit.RELATION_CREATE, relation, fields)
    return relation


def unlink_cases(actor: Any, relation: CaseRelation) -> CaseRelation:
    """Remove a link (kept with who removed it and when)."""
    _require(actor, JusticePermission.LINK_CASES, relation.from_case, relation.to_case)
    with transaction.atomic():
        locked = CaseRelation.objects.select_for_update().get(pk=relation.pk)
        if locked.removed_at is not None:
            raise ValidationError(_("This link was already removed."))
        locked.removed_at = timezone.now()
        locked.removed_by = _user(actor)
        locked.save(update_fields=["removed_at", "removed_by", "updated_at"])
        audit.record(actor, JusticeAudit.RELATION_REMOVE, locked, ["removed_at", "removed_by"])
    relation.removed_at, relation.removed_by = locked.removed_at, locked.removed_by
    return relation


def _lock_pair(a: Case, b: Case) -> tuple[Case, Case]:
    rows = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[a.pk, b.pk]).order_by("pk")}
    return rows[a.pk], rows[b.pk]


def merge_case(actor: Any, duplicate: Case, into: Case) -> Case:
    """Merge `duplicate` into `into` (reversible with unmerge_case). The actor's agency must own both
    cases (no merge across agencies) and may work on both. Nothing moves and nothing is closed: the
    duplicate keeps its status and records, shows a banner to the primary, and leaves case lists."""
    _require(actor, JusticePermission.MERGE_CASES, duplicate, into)
    if duplicate.pk == into.pk:
        raise ValidationError(_("A case cannot be merged into itself."))
    if duplicate.owning_agency_id != into.owning_agency_id:
        raise ValidationError(_("Cases of different agencies cannot be merged; link them instead."))
    with transaction.atomic():
        dup, primary = _lock_pair(duplicate, into)
        if dup.merged_into_id is not None:
            raise ValidationError(_("This case is already merged into another case."))
        if primary.merged_into_id is not None:
            raise ValidationError(
                _("The case %(reference)s is itself merged into another case: merge into that one.")
                % {"reference": primary.reference}
            )
        if Case.objects.filter(merged_into=dup).exists():
            raise ValidationError(_("Other cases are merged into this one: un-merge them first."))
        dup.merged_into = primary
        dup.merged_at = timezone.now()
        dup.save(update_fields=["merged_into", "merged_at", "updated_at"])
        audit.record(actor, JusticeAudit.CASE_MERGE, dup, ["merged_into", "merged_at"])
        audit.record(actor, JusticeAudit.CASE_MERGE_RECEIVE, primary, ["merged_cases"])
    duplicate.merged_into, duplicate.merged_at = dup.merged_into, dup.merged_at
    return duplicate


def unmerge_case(actor: Any, duplicate: Case) -> Case:
    """Undo a merge: the duplicate is an ordinary case again (its records never moved)."""
    if duplicate.merged_into_id is None:
        raise ValidationError(_("This case is not merged."))
    primary = Case.objects.get(pk=duplicate.merged_into_id)
    _require(actor, JusticePermission.MERGE_CASES, duplicate, primary)
    with transaction.atomic():
        dup, primary = _lock_pair(duplicate, primary)
        if dup.merged_into_id != primary.pk:
            raise ValidationError(_("This case is not merged."))
        dup.merged_into = None
        dup.merged_at = None
        dup.save(update_fields=["merged_into", "merged_at", "updated_at"])
        audit.record(actor, JusticeAudit.CASE_UNMERGE, dup, ["merged_into", "merged_at"])
        audit.record(actor, JusticeAudit.CASE_UNMERGE_RELEASE, primary, ["merged_cases"])
    duplicate.merged_into, duplicate.merged_at = None, None
    return duplicate
