"""Duplicates: linking and merging cases is audited and reversible, and keeps the audit chain valid; a merged
duplicate leaves the case list but keeps its records; an outsider cannot link to or merge with a case they
cannot see."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max

from amparo.cases.actions import relations
from amparo.cases.models import Case, CaseRelation
from amparo.cases.permissions import JusticeAudit
from amparo.conftest import SYSTEM
from amparo.core import audit
from amparo.core.models import AuditEntry
from amparo.core.tests.test_audit import tamper
from amparo.core.tests.test_web import sign_in

pytestmark = pytest.mark.django_db

OWNER = "linha-fala-crianca"


@pytest.fixture(autouse=True)
def _static_root(settings, tmp_path):  # noqa: ANN001, ANN202
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STATIC_ROOT.mkdir()


@pytest.fixture
def officer(make_user):  # noqa: ANN001, ANN201
    return make_user("intake_officer", agency=OWNER)


def _mark() -> int:
    return AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0


def _entries_since(mark: int) -> list[tuple[str, str, list[str]]]:
    return [(e.action, e.object_id, e.fields) for e in AuditEntry.objects.filter(id__gt=mark).order_by("id")]


def test_merge_and_unmerge_are_audited_both_ways_and_keep_the_chain_valid(officer, make_case) -> None:  # noqa: ANN001
    primary, duplicate = make_case(agency=OWNER), make_case(agency=OWNER)
    notes_before = duplicate.notes.count()
    mark = _mark()

    relations.merge_case(officer, duplicate, primary)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == primary.pk
    assert duplicate.merged_at is not None
    assert duplicate.status == "received"  # nothing closed, nothing moved
    relations.unmerge_case(officer, duplicate)
    duplicate.refresh_from_db()
    assert (duplicate.merged_into_id, duplicate.merged_at) == (None, None)
    assert duplicate.notes.count() == notes_before

    d, p = str(duplicate.pk), str(primary.pk)
    assert _entries_since(mark) == [
        (JusticeAudit.CASE_MERGE, d, ["merged_at", "merged_into"]),
        (JusticeAudit.CASE_MERGE_RECEIVE, p, ["merged_cases"]),
        (JusticeAudit.CASE_UNMERGE, d, ["merged_at", "merged_into"]),
        (JusticeAudit.CASE_UNMERGE_RELEASE, p, ["merged_cases"]),
    ]
    assert list(audit.verify()) == []
    # Merging again after an un-merge works, and the chain is still whole.
    relations.merge_case(officer, duplicate, primary)
    assert list(audit.verify()) == []


def test_tampering_with_a_merge_entry_is_detected_by_the_chain_verifier(officer, make_case) -> None:  # noqa: ANN001
    primary, duplicate = make_case(agency=OWNER), make_case(agency=OWNER)
    relations.merge_case(officer, duplicate, primary)
    entry = AuditEntry.objects.get(action=JusticeAudit.CASE_MERGE)
    tamper("UPDATE core_auditentry SET object_id = %s WHERE id = %s", [str(primary.pk), entry.pk])
    assert list(audit.verify()) != []


def test_merge_refuses_self_chains_and_other_agencies(officer, make_case) -> None:  # noqa: ANN001
    a, b, c = (make_case(agency=OWNER) for _ in range(3))
    foreign = make_case(agency="sernic")
    with pytest.raises(ValidationError):
        relations.merge_case(officer, a, a)
    with pytest.raises(PermissionDenied):  # the officer cannot even work on the other agency's case
        relations.merge_case(officer, a, foreign)
    with pytest.raises(ValidationError):  # the system may, but not across agencies
        relations.merge_case(SYSTEM, a, foreign)
    relations.merge_case(officer, a, b)
    with pytest.raises(ValidationError):  # already merged
        relations.merge_case(officer, a, c)
    with pytest.raises(ValidationError):  # b has a duplicate merged into it
        relations.merge_case(officer, b, c)
    with pytest.raises(ValidationError):  # c into a duplicate: merge into the primary instead
        relations.merge_case(officer, c, a)
    with pytest.raises(ValidationError):
        relations.unmerge_case(officer, c)
    assert list(Case.objects.filter(merged_into__isnull=False).values_list("pk", flat=True)) == [a.pk]


def test_links_are_made_once_and_removed_not_deleted(officer, make_case) -> None:  # noqa: ANN001
    a, b = make_case(agency=OWNER), make_case(agency=OWNER)
    mark = _mark()
    link = relations.link_cases(officer, a, b, reason="same_child", note="Mesma criança.")
    with pytest.raises(ValidationError):  # the same link the other way round
        relations.link_cases(officer, b, a, reason="same_child")
    relations.link_cases(officer, b, a, reason="same_offender")
    relations.unlink_cases(officer, link)
    with pytest.raises(ValidationError):
        relations.unlink_cases(officer, link)
    assert CaseRelation.objects.count() == 2
    assert CaseRelation.objects.get(pk=link.pk).removed_by_id == officer.pk
    assert [action for action, _id, _fields in _entries_since(mark)] == [
        JusticeAudit.RELATION_CREATE,
        JusticeAudit.RELATION_CREATE,
        JusticeAudit.RELATION_REMOVE,
    ]
    assert _entries_since(mark)[0][2] == ["from_case", "note", "reason", "to_case"]
    # Linking again after removal is allowed (a new link).
    relations.link_cases(officer, a, b, reason="same_child")
    assert list(audit.verify()) == []


def test_an_outsider_cannot_link_to_a_case_they_cannot_see(make_user, make_case) -> None:  # noqa: ANN001
    mine, theirs = make_case(agency="sernic"), make_case(agency=OWNER)
    with pytest.raises(PermissionDenied):
        relations.link_cases(make_user("investigator", agency="sernic"), mine, theirs, reason="same_child")
    assert not CaseRelation.objects.exists()


# ---------------------------------------------------------------------------
# Pages


def _page(client: Any, case: Case) -> str:
    response = client.get(f"/cases/{case.reference}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_merging_from_the_case_page_needs_confirmation_hides_the_duplicate_and_can_be_undone(
    client, officer, make_case
) -> None:  # noqa: ANN001
    primary, duplicate = make_case(agency=OWNER), make_case(agency=OWNER)
    sign_in(client, officer)
    client.post(f"/cases/{duplicate.reference}/relations/merge/", {"into": primary.reference})
    assert Case.objects.get(pk=duplicate.pk).merged_into_id is None  # not confirmed

    client.post(
        f"/cases/{duplicate.reference}/relations/merge/", {"into": primary.reference.lower(), "confirm": "on"}
    )
    assert Case.objects.get(pk=duplicate.pk).merged_into_id == primary.pk
    listing = client.get("/cases/").content.decode()
    assert duplicate.reference not in listing
    assert primary.reference in listing
    body = _page(client, duplicate)
    assert f"This case is a duplicate merged into case {primary.reference}." in body
    assert "This case was merged into another case as a duplicate." in body  # the timeline
    assert duplicate.reference in _page(client, primary)  # listed among the merged duplicates

    client.post(f"/cases/{duplicate.reference}/relations/unmerge/")
    assert Case.objects.get(pk=duplicate.pk).merged_into_id is None
    assert duplicate.reference in client.get("/cases/").content.decode()
    assert "This case was un-merged; it is a separate case again." in _page(client, duplicate)
    assert list(audit.verify()) == []


def test_linking_from_the_case_page_and_removing_the_link(client, officer, make_case) -> None:  # noqa: ANN001
    a, b = make_case(agency=OWNER), make_case(agency=OWNER)
    sign_in(client, officer)
    client.post(f"/cases/{a.reference}/relations/link/", {"other": b.reference, "reason": "same_evidence"})
    relation = CaseRelation.objects.get()
    assert f'href="/cases/{a.reference}/"' in _page(client, b)  # shown from both sides
    client.post(f"/cases/{b.reference}/relations/{relation.pk}/remove/")
    assert CaseRelation.objects.get().removed_at is not None
    assert "No related case." in _page(client, a)


def test_linking_or_merging_with_an_unknown_or_foreign_reference_changes_nothing(
    client, officer, make_case
) -> None:  # noqa: ANN001
    mine, foreign = make_case(agency=OWNER), make_case(agency="sernic")
    sign_in(client, officer)
    for other in (foreign.reference, "AMP-0000-0000"):
        response = client.post(
            f"/cases/{mine.reference}/relations/link/",
            {"other": other, "reason": "same_child"},
            HTTP_ACCEPT_LANGUAGE="en",
            follow=True,
        )
        assert "No case with that reference is open to you." in response.content.decode()
        client.post(f"/cases/{mine.reference}/relations/merge/", {"into": other, "confirm": "on"})
    assert not CaseRelation.objects.exists()
    assert Case.objects.get(pk=mine.pk).merged_into_id is None


def test_an_outsider_gets_404_on_every_relation_form(client, make_user, make_case) -> None:  # noqa: ANN001
    a, b = make_case(agency=OWNER), make_case(agency=OWNER)
    link = relations.link_cases(SYSTEM, a, b, reason="same_child")
    sign_in(client, make_user("investigator", agency="sernic"))
    urls = [
        (f"/cases/{a.reference}/relations/link/", {"other": b.reference, "reason": "same_offender"}),
        (f"/cases/{a.reference}/relations/{link.pk}/remove/", {}),
        (f"/cases/{a.reference}/relations/merge/", {"into": b.reference, "confirm": "on"}),
        (f"/cases/{a.reference}/relations/unmerge/", {}),
    ]
    for url, data in urls:
        assert client.post(url, data).status_code == 404
    assert CaseRelation.objects.get().removed_at is None
    assert Case.objects.filter(merged_into__isnull=False).count() == 0
