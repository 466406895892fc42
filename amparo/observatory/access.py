"""Loading the observatory's objects for a user (the dashboard's scope, tracker actions, research extract
requests): each asks the one policy (amparo.core.policy), and an object the user may not see is a 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404

from amparo.core.models import Agency
from amparo.core.policy import can
from amparo.observatory.extract import ExtractPermission
from amparo.observatory.models import Action, ExtractRequest
from amparo.observatory.permissions import ObservatoryPermission
from amparo.observatory.tracker import TrackerPermission


def dashboard_scope(user: Any) -> Agency | None:
    """None for the whole country; the user's agency for an agency supervisor; else 403.

    National coordinators and national analysts see the country; a supervisor sees the statistics of
    their own agency's cases only (``compute(..., agency=user.agency)``).
    """
    if can(user, ObservatoryPermission.VIEW_NATIONAL):
        return None
    if getattr(user, "agency_id", None) and can(user, ObservatoryPermission.VIEW_AGENCY, user.agency):
        return user.agency
    raise PermissionDenied


def require_tracker(user: Any) -> None:
    if not can(user, TrackerPermission.READ):
        raise PermissionDenied


def get_action_for_user(user: Any, pk: int, permission: TrackerPermission) -> Action:
    require_tracker(user)
    action = Action.objects.filter(pk=pk).first()
    if action is None:
        raise Http404
    if not can(user, permission, action):
        raise PermissionDenied
    return action


def visible_extracts(user: Any) -> QuerySet[ExtractRequest]:
    """The extract requests a user may list: every one for a national coordinator, else their own."""
    requests = ExtractRequest.objects.select_related("requester")
    if can(user, ExtractPermission.READ_ANY):
        return requests
    return requests.filter(requester=user)


def get_extract_for_user(user: Any, pk: Any) -> ExtractRequest:
    """The requester and national coordinators see a request; anyone else gets 404."""
    if not can(user, ExtractPermission.LIST):
        raise PermissionDenied
    try:
        request = ExtractRequest.objects.select_related("requester", "approver").filter(pk=pk).first()
    except ValidationError:
        request = None
    if request is None or not can(user, ExtractPermission.READ, request):
        raise Http404
    return request
