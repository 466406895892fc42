"""Loading the observatory's objects for a user (amparo.observatory.access): a research extract request is
seen by its requester and by national coordinators (the rule is the policy's, ExtractPermission.READ and
READ_ANY); another analyst gets 404 and lists only their own."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from amparo.observatory import actions
from amparo.observatory.access import get_extract_for_user, visible_extracts

pytestmark = pytest.mark.django_db


def _request(analyst):  # noqa: ANN001, ANN202
    return actions.request_extract(
        analyst,
        purpose="A synthetic study (tests).",
        fields=["place", "month"],
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 3, 31),
    )


def test_the_requester_and_coordinators_see_a_request_another_analyst_gets_404(make_user) -> None:  # noqa: ANN001
    requester, other = make_user("analyst", agency="mgcas"), make_user("analyst", agency="mgcas")
    coordinator = make_user("national_coordinator", agency="mgcas")
    made = _request(requester)
    assert get_extract_for_user(requester, made.pk) == made
    assert get_extract_for_user(coordinator, made.pk) == made
    with pytest.raises(Http404):
        get_extract_for_user(other, made.pk)
    with pytest.raises(Http404):
        get_extract_for_user(requester, "not-a-key")
    with pytest.raises(PermissionDenied):
        get_extract_for_user(make_user("investigator", agency="sernic"), made.pk)


def test_coordinators_list_every_request_analysts_their_own(make_user) -> None:  # noqa: ANN001
    first, second = make_user("analyst", agency="mgcas"), make_user("analyst", agency="mgcas")
    mine, theirs = _request(first), _request(second)
    assert list(visible_extracts(first)) == [mine]
    assert set(visible_extracts(make_user("national_coordinator", agency="mgcas"))) == {mine, theirs}
