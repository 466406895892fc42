"""Case pages for links and merges between cases: the "relations" panel of the case page (with the
banner of a merged duplicate), and its forms: link by reference (or accept a suggestion such as the same
evidence file in two cases), remove a link, merge into another case (with confirmation), un-merge.

Both cases are loaded through amparo.cases.access (an unknown or unreadable reference is "not found");
writes go through amparo.cases.actions.relations.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amparo.cases.access import get_case_for_user
from amparo.cases.actions import relations as actions
from amparo.cases.forms import LinkForm, MergeForm
from amparo.cases.models import Case, CaseRelation
from amparo.cases.panels import Panel, register_panel
from amparo.cases.permissions import JusticePermission
from amparo.cases.relations import link_suggestions, relations_for
from amparo.core.policy import can


def relations_panel(request: HttpRequest, case: Case, sections: frozenset[str]) -> dict[str, Any] | None:
    user = request.user
    relations = relations_for(user, case)
    may_link = can(user, JusticePermission.LINK_CASES, case)
    may_merge = can(user, JusticePermission.MERGE_CASES, case)
    return {
        "case": case,
        "relations": relations,
        "suggestions": link_suggestions(user, case) if may_link else [],
        "link_form": LinkForm() if may_link else None,
        "merge_form": MergeForm() if may_merge and case.merged_into_id is None else None,
        "may_unmerge": may_merge and case.merged_into_id is not None,
        "may_link": may_link,
    }


# Early on the page: a merged duplicate's banner must be seen first.
register_panel(Panel("relations", 5, "cases/relations_panel.html", relations_panel))


def _back(case: Case) -> HttpResponse:
    return redirect(reverse("cases:detail", args=[case.reference]) + "#relations")


def _errors(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


def _other_case(request: HttpRequest, reference: str) -> Case | None:
    reference = reference.strip().upper()
    try:
        return get_case_for_user(request.user, reference)
    except Http404:
        messages.error(request, _("No case with that reference is open to you."))
        return None


@login_required
@require_POST
def link_create(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, JusticePermission.LINK_CASES)
    form = LinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the other case's reference and the connection."))
        return _back(case)
    other = _other_case(request, form.cleaned_data["other"])
    if other is not None:
        try:
            actions.link_cases(
                request.user, case, other, reason=form.cleaned_data["reason"], note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("The cases are linked."))
    return _back(case)


@login_required
@require_POST
def link_remove(request: HttpRequest, reference: str, relation_id: Any) -> HttpResponse:
    case = get_case_for_user(request.user, reference, JusticePermission.LINK_CASES)
    relation = (
        CaseRelation.objects.select_related("from_case", "to_case")
        .filter(Q(from_case=case) | Q(to_case=case), pk=relation_id, removed_at__isnull=True)
        .first()
    )
    if relation is None:
        raise Http404
    try:
        actions.unlink_cases(request.user, relation)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("The link was removed."))
    return _back(case)


@login_required
@require_POST
def merge(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, JusticePermission.MERGE_CASES)
    form = MergeForm(request.POST)
    if not form.is_valid() or not form.cleaned_data["confirm"]:
        messages.error(request, _("Give the other case's reference and confirm the merge."))
        return _back(case)
    into = _other_case(request, form.cleaned_data["into"])
    if into is not None:
        try:
            actions.merge_case(request.user, case, into)
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(
                request,
                _("This case is merged into %(reference)s. Un-merge it here if that was a mistake.")
                % {"reference": into.reference},
            )
    return _back(case)


@login_required
@require_POST
def unmerge(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for_user(request.user, reference, JusticePermission.MERGE_CASES)
    try:
        actions.unmerge_case(request.user, case)
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("The merge was undone: this is a separate case again."))
    return _back(case)


urlpatterns = [
    path("<str:reference>/relations/link/", link_create, name="relation_link"),
    path("<str:reference>/relations/<uuid:relation_id>/remove/", link_remove, name="relation_remove"),
    path("<str:reference>/relations/merge/", merge, name="relation_merge"),
    path("<str:reference>/relations/unmerge/", unmerge, name="relation_unmerge"),
]
